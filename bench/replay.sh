#!/usr/bin/env bash
# End-to-end `vmemu replay` throughput: one synthetic VMTR trace (bench/mktrace,
# the program-like "mix" pattern with PCs, baseline 4 KiB policy) replayed
# under every configs/machines/*.ini, each with walk.memory = fixed and = cache,
# and with the ATP + SBFP prefetchers. Wall time of the whole command
# (trace decoding, MimicOS faults and translations, the TLB model, the report)
# per access, and its CPU time (user + system, less disturbed when the machine
# is shared); medians of R runs, the variants interleaved within each round so
# that load from other processes spreads over all of them. Single-threaded.
# Usage: bench/replay.sh [ACCESSES] [RUNS]    (defaults 10000000, 5)
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000000}
runs=${2:-5}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
build/bench/mktrace -n "$n" --pc "$w/mix.vmtr"
names=(fixed cache atp+sbfp)
variants=("" "-s walk.memory=cache"
	"-c configs/machines/prefetch/virtuoso_prefetch.ini -s prefetch.prefetchers=atp,sbfp")
machines=(configs/machines/*.ini)
declare -A times cpus walks
TIMEFORMAT='%U %S'
for ((r = 0; r < runs; r++)); do
	for m in "${machines[@]}"; do
		for v in 0 1 2; do
			s=$(date +%s%N)
			# shellcheck disable=SC2086
			{ time build/vmemu replay -c "$m" ${variants[$v]} --json "$w/out.json" "$w/mix.vmtr" \
				>/dev/null; } 2>"$w/cpu"
			e=$(date +%s%N)
			times[$m,$v]+="$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') "
			cpus[$m,$v]+="$(awk '{ printf "%.3f", $1 + $2 }' "$w/cpu") "
			walks[$m,$v]=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["tlb"]["walks_per_million_accesses"]))' "$w/out.json")
		done
	done
done
echo "replay bench: $n accesses (mktrace -n $n --pc: mix pattern, $(($(stat -c %s "$w/mix.vmtr") / 1024 / 1024)) MiB VMTR), median of $runs interleaved runs"
median() { printf '%s\n' $1 | sort -n | sed -n "$(((runs + 1) / 2))p"; }
printf '%-18s %-9s %7s %8s %7s %8s %8s   %s\n' machine variant "wall s" "M acc/s" "CPU s" \
	"M acc/s" "walks/M" "wall s of every run"
for m in "${machines[@]}"; do
	for v in 0 1 2; do
		wt=$(median "${times[$m,$v]}")
		ct=$(median "${cpus[$m,$v]}")
		printf '%-18s %-9s %7.2f %8.2f %7.2f %8.2f %8s   %s\n' "$(basename "$m" .ini)" "${names[$v]}" \
			"$wt" "$(awk -v n="$n" -v t="$wt" 'BEGIN { print n / t / 1e6 }')" "$ct" \
			"$(awk -v n="$n" -v t="$ct" 'BEGIN { print n / t / 1e6 }')" "${walks[$m,$v]}" "${times[$m,$v]}"
	done
done
