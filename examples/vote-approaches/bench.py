# Benchmarks one approach: runs it several times on the input and prints the mean wall time in seconds.
import subprocess
import sys
import time

approach, source = sys.argv[1], sys.argv[2]
commands = {
    "python": ["python3", "examples/vote-approaches/python.py", source],
    "shell": ["sh", "examples/vote-approaches/shell.sh", source],
    "awk": ["awk", "-f", "examples/vote-approaches/awk.awk", source],
}
runs = 5
start = time.perf_counter()
for _ in range(runs):
    subprocess.run(commands[approach], check=True, stdout=subprocess.DEVNULL)
print(f"{(time.perf_counter() - start) / runs:.6f}")
