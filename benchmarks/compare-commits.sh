#!/usr/bin/env bash
# Runs BenchmarkDotNet cases on a base commit and on the working tree, alternating round by round on one machine,
# and prints each case's median on both sides (the median of the rounds' medians), their ratio, and bytes allocated.
#
#   benchmarks/compare-commits.sh BASE_COMMIT [ROUNDS] -- BENCHMARKDOTNET_FILTERS...
#   benchmarks/compare-commits.sh HEAD~1 3 -- '*EngineOverheadBenchmarks.Engine*' '*SmallPlanBenchmarks*'
#
# Both sides run in process (--in-process: each class's own job, with the in-process toolchain), so only the engine
# differs; the hand-written baselines in the same classes show the machine's drift between rounds.
set -euo pipefail
base=${1:?usage: compare-commits.sh BASE_COMMIT [ROUNDS] -- FILTERS...}
shift
rounds=3
if [[ ${1:-} != "--" && -n ${1:-} ]]; then rounds=$1; shift; fi
[[ ${1:-} == "--" ]] && shift
[[ $# -gt 0 ]] || { echo "name at least one BenchmarkDotNet filter after --" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
work=${TMPDIR:-/tmp}/parallelflow-compare
sha=$(git -C "$root" rev-parse --short "$base")
mkdir -p "$work"
if [[ ! -d $work/$sha ]]; then
  git -C "$root" worktree add --detach "$work/$sha" "$sha" >/dev/null
fi

# The harness (Program.cs, which knows --in-process) is the working tree's on both sides; the suites are each commit's own.
cp "$root/benchmarks/ParallelFlow.Benchmarks/Program.cs" "$work/$sha/benchmarks/ParallelFlow.Benchmarks/Program.cs"

build() { dotnet build -c Release "$1/benchmarks/ParallelFlow.Benchmarks" -nologo -v q >/dev/null; }
build "$work/$sha"
build "$root"

out=$work/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for side in base head; do
    dir=$root; [[ $side == base ]] && dir=$work/$sha
    echo "round $round/$rounds: $side" >&2
    (cd "$dir" && dotnet "benchmarks/ParallelFlow.Benchmarks/bin/Release/net10.0/ParallelFlow.Benchmarks.dll" \
      --in-process --exporters json --artifacts "$out/$round-$side" --filter "$@" >"$out/$round-$side.log" 2>&1)
  done
done

python3 - "$out" "$sha" <<'PY'
import glob, json, os, statistics, sys
out, sha = sys.argv[1], sys.argv[2]
cases = {}
for path in glob.glob(os.path.join(out, '*', 'results', '*.json')):
    side = os.path.basename(os.path.dirname(os.path.dirname(path))).split('-')[1]
    for b in json.load(open(path))['Benchmarks']:
        name = b['Type'] + ' ' + b['Method'] + ' ' + b.get('Parameters', '')
        if b.get('Statistics'):
            cases.setdefault(name, {}).setdefault(side, []).append((b['Statistics']['Median'], b['Memory']['BytesAllocatedPerOperation']))
print(f"| case | {sha} | working tree | ratio | allocated, {sha} | allocated, working tree |")
print("|---|---:|---:|---:|---:|---:|")
for name in sorted(cases):
    base = cases[name].get('base', []); head = cases[name].get('head', [])
    if not base or not head:
        continue
    b, h = statistics.median(m for m, _ in base), statistics.median(m for m, _ in head)
    ab, ah = statistics.median(a for _, a in base), statistics.median(a for _, a in head)
    unit, scale = ('µs', 1e3) if max(b, h) < 1e6 else ('ms', 1e6)
    print(f"| {name} | {b/scale:.3f} {unit} | {h/scale:.3f} {unit} | {h/b:.3f} | {ab:,.0f} B | {ah:,.0f} B |")
print(f"\nraw results: {out}")
PY
