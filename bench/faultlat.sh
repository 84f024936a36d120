#!/usr/bin/env bash
# First-touch cost per page, native vs vmemu, measured in one run
# (interleaved repetitions; the median of each side is reported).
# Usage: bench/faultlat.sh [PAGES] [REPS] [extra vmemu run options...]
set -eu
cd "$(dirname "$0")/.."
pages=${1:-20000}; reps=${2:-5}; shift $(($# < 2 ? $# : 2))
out=$(mktemp -d)
for r in $(seq "$reps"); do
	build/bench/faultlat "$pages" >>"$out/native"
	build/vmemu run -o /dev/null "$@" -- build/bench/faultlat "$pages" >>"$out/vmemu"
done
python3 - "$out" "$pages" "$reps" "$*" <<'PY'
import statistics, sys
d, pages, reps, opts = sys.argv[1:]
def load(f):
    rows = [dict(zip(l.split()[0::2], map(int, l.split()[1::2]))) for l in open(f"{d}/{f}")]
    return {k: statistics.median(r[k] for r in rows) for k in ("p50_ns", "p90_ns", "p99_ns", "mean_ns")}
n, v = load("native"), load("vmemu")
print(f"faultlat: {pages} pages first-touched, median of {reps} interleaved runs"
      + (f", vmemu options: {opts}" if opts else ""))
print(f"{'':10}{'p50 ns':>10}{'p90 ns':>10}{'p99 ns':>10}{'mean ns':>10}")
for name, r in (("native", n), ("vmemu", v)):
    print(f"{name:10}" + "".join(f"{r[k]:>10.0f}" for k in ("p50_ns", "p90_ns", "p99_ns", "mean_ns")))
print(f"{'ratio':10}" + "".join(f"{v[k] / max(n[k], 1):>10.1f}" for k in ("p50_ns", "p90_ns", "p99_ns", "mean_ns")))
PY
rm -rf "$out"
