"""The Dask side of PeerBenchmarks: the graph file (the same graph the engine runs) as a Dask task graph of no-op
functions, run by Dask's threaded scheduler with the given worker count. Commands on stdin, answers on stdout:
  run K   runs the graph K times, answers "ok NANOSECONDS" (the K runs together, measured here)
  quit    ends.
Graph file: the task count on the first line, then one line per task: its predecessor count and the predecessors.
A third argument names a file of one duration in seconds per task: the task then sleeps that long (latency-bound)."""
import sys
import time

import dask.threaded


def noop(*_):
    return None


def sleeper(seconds):
    def run(*_):
        time.sleep(seconds)
    return run


def main():
    path, workers = sys.argv[1], int(sys.argv[2])
    durations = None
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as d:
            durations = [float(x) for x in d.read().split()]
    with open(path) as f:
        count = int(f.readline())
        graph = {}
        for i in range(count):
            fields = [int(x) for x in f.readline().split()]
            work = sleeper(durations[i]) if durations and durations[i] > 0 else noop
            graph[f"t{i}"] = (work, *[f"t{p}" for p in fields[1:]])
    keys = list(graph)
    print(f"ready {count}", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        if parts[0] == "run":
            times = int(parts[1]) if len(parts) > 1 else 1
            start = time.perf_counter_ns()
            for _ in range(times):
                dask.threaded.get(graph, keys, num_workers=workers)
            print(f"ok {time.perf_counter_ns() - start}", flush=True)


if __name__ == "__main__":
    main()
