#!/usr/bin/env bash
# Fault service time as the report measures it (handler reads the message ->
# faulting thread woken) for python3 building a 3M-element list, under
# vmemu without sampling, with protect at its defaults and with tlbtrap on
# 1/16 of the sets; runs interleaved, medians of each run's p50 and mean.
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
		python3 -c 'import json, sys; l = json.load(open(sys.argv[1]))["fault_latency_ns"]; print(sys.argv[2], l["p50"], l["mean"])' \
			"$tmp/r.json" "${v%%|*}" >>"$tmp/all"
	done
done
python3 - "$tmp/all" "$runs" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, p50, mean = line.split()
    d[n].append((float(p50), float(mean)))
print("fault service time, python3-list, median of %s interleaved runs" % sys.argv[2])
print("%-14s %10s %10s" % ("sampler", "p50 ns", "mean ns"))
for n, v in d.items():
    print("%-14s %10.0f %10.0f" % (n, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)))
PY
