#!/usr/bin/env bash
# Swap benchmarks (issue 4), ratios measured in one run:
#  1. throughput: a program writes then reads MIB of pages under vmemu with
#     memory.size = MIB/8 (so ~7/8 of the pages go out and all come back),
#     vs the bound: plain io_uring 4 KiB writes/reads of the same bytes to a
#     private file in the same directory. Device time is set to zero for this
#     part, so the ratio is the mechanism's cost (fault, write-protect,
#     io_uring, drop, copy); the nvme line adds the injected device time.
#  2. slowdown of a real workload (sqlite3 script of tests/inputs.bash) at
#     memory.size = 100/75/50/25% of its native peak RSS, median of REPS.
# Usage: bench/swap.sh [MIB] [REPS]
set -eu
cd "$(dirname "$0")/.."
mib=${1:-256}; reps=${2:-3}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
. tests/inputs.bash
zero="-s swap.read_latency_ns=0 -s swap.write_latency_ns=0 -s swap.read_bandwidth=16T -s swap.write_bandwidth=16T"

echo "== swap throughput, $mib MiB through memory.size = $((mib / 8)) MiB (pages/s) =="
read -r _ rw _ rr < <(build/bench/swapio raw "$mib" "${TMPDIR:-/tmp}")
read -r _ zw _ zr < <(build/vmemu run -o /dev/null -s memory.size=$((mib / 8))M -s swap.size=$((mib * 2))M \
	$zero -- build/bench/swapio stream "$mib" 2>/dev/null)
read -r _ nw _ nr < <(build/vmemu run -o /dev/null -s memory.size=$((mib / 8))M -s swap.size=$((mib * 2))M \
	-s swap.device=nvme -- build/bench/swapio stream "$mib" 2>/dev/null)
python3 - "$rw" "$rr" "$zw" "$zr" "$nw" "$nr" <<'PY'
import sys
rw, rr, zw, zr, nw, nr = map(float, sys.argv[1:])
print(f"{'':28s}{'swap-out':>12s}{'swap-in':>12s}")
print(f"{'io_uring bound (raw file)':28s}{rw:12.0f}{rr:12.0f}")
print(f"{'vmemu, zero device time':28s}{zw:12.0f}{zr:12.0f}   ratio to bound {zw/rw:.3f} / {zr/rr:.3f}")
print(f"{'vmemu, nvme preset':28s}{nw:12.0f}{nr:12.0f}   ratio to bound {nw/rw:.3f} / {nr/rr:.3f}")
PY

echo
echo "== sqlite3 script: wall time at memory.size = share of native peak RSS (median of $reps) =="
gen_sql "$w/script.sql"
build/progs/maxrss "$w/peak" sh -c "rm -f $w/db; sqlite3 $w/db <$w/script.sql" >/dev/null
peak=$(cat "$w/peak")
timeit() { local a=$EPOCHREALTIME; "$@" >/dev/null 2>&1; echo "$a $EPOCHREALTIME"; }
for r in $(seq "$reps"); do
	echo "native 0 $(timeit sh -c "rm -f $w/db; sqlite3 $w/db <$w/script.sql")" >>"$w/times"
	for pct in 100 75 50 25; do
		kb=$((peak * pct / 100 / 4 * 4))
		echo "vmemu $pct $(timeit build/vmemu run -o /dev/null -s memory.size=${kb}K -s swap.size=1G \
			-- sh -c "rm -f $w/db; sqlite3 $w/db <$w/script.sql")" >>"$w/times"
	done
done
python3 - "$w/times" "$peak" <<'PY'
import collections, statistics, sys
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, pct, a, b = line.split()
    t[(side, int(pct))].append(float(b) - float(a))
nat = statistics.median(t[("native", 0)])
print(f"native peak RSS {sys.argv[2]} KiB; native median {nat:.3f} s")
for pct in (100, 75, 50, 25):
    m = statistics.median(t[("vmemu", pct)])
    print(f"  memory.size = {pct:3d}% of peak: {m:7.3f} s  = {m / nat:6.2f}x native")
PY
