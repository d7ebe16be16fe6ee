#!/bin/bash
# Remote dispatch against in-process on this machine: 2,000 zero-work tasks and 10,000 tasks of 10 ms, in one process,
# then on 1, 2 and 4 `parallelflow silo` processes (32 slots each) over a redis-server on 127.0.0.1 and a free port.
# Every process it starts is stopped by PID. Build first: dotnet build engine/ParallelFlow.Cli -c Release.
set -u
cd "$(dirname "$0")/../.."
CLI=engine/ParallelFlow.Cli/bin/Release/net10.0/parallelflow.dll
WORK=$(mktemp -d)
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
json.dump({"id": "zero-2000", "tasks": [{"id": f"z{i}", "worker": "template", "with": {"text": "x"}} for i in range(2000)]}, open(f"{w}/zero.json", "w"))
json.dump({"id": "sleep-10k", "tasks": [{"id": f"s{i}", "worker": "simulate", "with": {"seconds": 0.01}} for i in range(10000)]}, open(f"{w}/sleep.json", "w"))
PY
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & RPID=$!
sleep 0.5
summary() { grep -E "^Run .* in " | sed 's/.* in \([0-9.]*\)s on \([0-9]*\) workers.*/\1s on \2 workers/'; }
echo "in-process zero 2000: $(dotnet $CLI run $WORK/zero.json --no-journal -q --workers 8 | summary)"
echo "in-process sleep 10k (64 workers): $(dotnet $CLI run $WORK/sleep.json --no-journal -q --workers 64 | summary)"
PIDS=()
for n in 1 2 4; do
  while [ ${#PIDS[@]} -lt $n ]; do
    dotnet $CLI silo --cluster redis://127.0.0.1:$PORT --slots 32 > $WORK/silo${#PIDS[@]}.log 2>&1 & PIDS+=($!)
  done
  sleep 6
  echo "silos=$n zero 2000: $(dotnet $CLI run $WORK/zero.json --no-journal -q --cluster redis://127.0.0.1:$PORT --workers 8 | summary)"
  echo "silos=$n sleep 10k: $(dotnet $CLI run $WORK/sleep.json --no-journal -q --cluster redis://127.0.0.1:$PORT | summary)"
done
kill ${PIDS[@]}; sleep 3; kill -9 ${PIDS[@]} 2>/dev/null; kill $RPID; rm -rf "$WORK"
