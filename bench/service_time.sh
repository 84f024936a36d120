#!/usr/bin/env bash
# Fault service time as the report measures it (handler reads the message ->
# faulting thread woken) for python3 building a 3M-element list, under
# vmemu without sampling, with protect at its defaults and with tlbtrap on
# 1/16 of the sets; runs interleaved, medians of each run's p50 and mean.
# Also what each run cost beside the program: the fault handlers' CPU time
# (median, and the median of its per-run difference to the run without
# sampling) and the run's wall time as a ratio to the run without sampling
# (median of per-run ratios).
# Usage: [VMEMU=path/to/vmemu] bench/service_time.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
runs=${1:-7}
V=${VMEMU:-build/vmemu}
M=configs/machines/golden_cove.ini
PY=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a pyenv shim
tmp=$(mktemp -d /tmp/vmemu-svc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
variants=("none|" "protect|-s sampler.source=protect" "tlbtrap-1/16|-s sampler.source=tlbtrap -s sampler.set_rate=0.0625")
for ((i = 0; i < runs; i++)); do
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2086
		$V run -c $M ${v#*|} -o /dev/null --json "$tmp/r.json" -- \
			"$PY" -c 'x = [i*i for i in range(3_000_000)]; print(sum(x))' >/dev/null
		python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); l = j["fault_latency_ns"]; print(sys.argv[2], l["p50"], l["mean"], j["run"]["fault_handlers_cpu_ns"], j["run"]["wall_time_ns"])' \
			"$tmp/r.json" "${v%%|*}" >>"$tmp/all"
	done
done
python3 - "$tmp/all" "$runs" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, *v = line.split()
    d[n].append([float(x) for x in v])
base = d["none"]
print("fault service time, python3-list, median of %s interleaved runs" % sys.argv[2])
print("%-14s %10s %10s %14s %10s %10s" % ("sampler", "p50 ns", "mean ns", "handler CPU ms", "vs none", "wall/none"))
for n, v in d.items():
    med = lambda k: statistics.median(x[k] for x in v)
    dcpu = statistics.median(a[2] - b[2] for a, b in zip(v, base)) / 1e6
    wall = statistics.median(a[3] / b[3] for a, b in zip(v, base))
    print("%-14s %10.0f %10.0f %14.1f %+10.1f %10.3f" % (n, med(0), med(1), med(2) / 1e6, dcpu, wall))
PY
