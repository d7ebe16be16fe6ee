# Tests a candidate's output: the ten most frequent words of the input, lower-cased, most frequent first, ties by word.
import re
import sys
from collections import Counter

output, source = sys.argv[1], sys.argv[2]
words = re.findall(r"[a-z]+", open(source, encoding="utf-8").read().lower())
expected = [f"{c} {w}" for w, c in sorted(Counter(words).items(), key=lambda item: (-item[1], item[0]))[:10]]
actual = [line.strip() for line in open(output, encoding="utf-8").read().splitlines() if line.strip()]
if actual != expected:
    print("expected:", expected)
    print("actual:  ", actual)
    sys.exit(1)
