#!/usr/bin/env bash
# Wall time of real programs under vmemu / native: each workload runs REPS
# times on each side, interleaved, and the table gives medians and the ratio.
# Usage: bench/slowdown.sh [REPS] [extra vmemu run options...]
set -eu
cd "$(dirname "$0")/.."
reps=${1:-5}; shift $(($# < 1 ? $# : 1))
root=$PWD
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
. tests/inputs.bash
gen_text "$w/in.txt" 24
gen_lines "$w/lines" 1000000
gen_sql "$w/script.sql"
xz -9 -T1 -c <"$w/in.txt" >"$w/in.xz"

names=(python3-list sqlite3-insert xz-9-compress xz-decompress sort-1M)
cmds=(
	"/usr/bin/python3 -c 'x = [i*i for i in range(3_000_000)]; print(sum(x))'"
	"rm -f $w/db; sqlite3 $w/db <$w/script.sql"
	"xz -9 -T1 -c <$w/in.txt"
	"xz -d -c <$w/in.xz"
	"sort -S 256M <$w/lines"
)
timeit() { # prints start and end (seconds) of "$@", output discarded
	local a=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	echo "$a $EPOCHREALTIME"
}
for i in "${!names[@]}"; do
	for r in $(seq "$reps"); do
		echo "${names[$i]} native $(timeit sh -c "${cmds[$i]}")" >>"$w/times"
		echo "${names[$i]} vmemu $(timeit "$root/build/vmemu" run -o /dev/null "$@" -- sh -c "${cmds[$i]}")" >>"$w/times"
	done
done
python3 - "$w/times" "$reps" "$*" <<'PY'
import collections, statistics, sys
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, side, a, b = line.split()
    t[(name, side)].append(float(b) - float(a))
names = list(dict.fromkeys(k[0] for k in t))
print(f"slowdown: wall time, median of {sys.argv[2]} interleaved runs each"
      + (f", vmemu options: {sys.argv[3]}" if sys.argv[3] else ""))
print(f"{'workload':18}{'native s':>10}{'vmemu s':>10}{'ratio':>8}")
for n in names:
    a, b = statistics.median(t[(n, 'native')]), statistics.median(t[(n, 'vmemu')])
    print(f"{n:18}{a:>10.3f}{b:>10.3f}{b / a:>8.2f}")
PY
