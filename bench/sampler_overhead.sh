#!/usr/bin/env bash
# Overhead of access sampling: wall time of each workload natively, under
# vmemu without sampling, and under vmemu with the default sampler settings
# (protect, rate 0.01, 10 ms), interleaved run by run; medians of N runs.
# Prints the ratios sampling / no sampling and sampling / native (issue 6
# target: sampling <= 1.10 x no sampling). tlbtrap is shown too (an exact
# mode, not expected to meet the target), and wpscan (the written-page scan,
# every 10 ms; a complete scan, not a sample).
# Usage: bench/sampler_overhead.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. tests/inputs.bash
runs=${1:-5}
V=build/vmemu
M=configs/machines/golden_cove.ini
tmp=$(mktemp -d /tmp/vmemu-sbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
gen_lines "$tmp/lines" 1000000
gen_sql "$tmp/script.sql"
PY=$(command -v python3); PY=$(readlink -f "$PY")

workload() { # name -> command (stdin from $in)
	case $1 in
	python3-list) in=/dev/null; cmd=("$PY" -c 'x = [i*i for i in range(3_000_000)]; print(sum(x))') ;;
	sqlite3) in=$tmp/script.sql; cmd=(sh -c 'rm -f '"$tmp"'/db.sqlite; exec sqlite3 '"$tmp"'/db.sqlite') ;;
	sort-1M) in=$tmp/lines; cmd=(sort -S 256M) ;;
	esac
}
t() { # prints seconds of one run of "$@" with stdin $in
	local s e
	s=$(date +%s%N); "$@" <"$in" >/dev/null 2>&1; e=$(date +%s%N)
	echo "scale=4; ($e - $s) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf 'sampler overhead: wall time, median of %d interleaved runs\n' "$runs"
printf '%-14s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n' workload native vmemu protect tlbtrap wpscan \
	prot/vm prot/nat trap/vm wp/vm
for w in python3-list sqlite3 sort-1M; do
	workload "$w"
	: >"$tmp/n"; : >"$tmp/v"; : >"$tmp/p"; : >"$tmp/t"; : >"$tmp/w"
	for ((i = 0; i < runs; i++)); do
		t "${cmd[@]}" >>"$tmp/n"
		t $V run -c $M -o /dev/null -- "${cmd[@]}" >>"$tmp/v"
		t $V run -c $M -s sampler.source=protect -o /dev/null -- "${cmd[@]}" >>"$tmp/p"
		t $V run -c $M -s sampler.source=tlbtrap -o /dev/null -- "${cmd[@]}" >>"$tmp/t"
		t $V run -c $M -s sampler.source=wpscan -o /dev/null -- "${cmd[@]}" >>"$tmp/w"
	done
	n=$(median <"$tmp/n"); v=$(median <"$tmp/v"); p=$(median <"$tmp/p"); q=$(median <"$tmp/t")
	x=$(median <"$tmp/w")
	printf '%-14s %9.3f %9.3f %9.3f %9.3f %9.3f %8.2f %8.2f %8.2f %8.2f\n' "$w" "$n" "$v" "$p" "$q" "$x" \
		"$(echo "$p / $v" | bc -l)" "$(echo "$p / $n" | bc -l)" "$(echo "$q / $v" | bc -l)" \
		"$(echo "$x / $v" | bc -l)"
done
