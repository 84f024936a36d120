# Swap and reclaim (issue 4): real programs under a memory limit with swap
# give output identical to native and lose no data.
# - swapcheck: 3 writer + 2 verifier threads over 4x the emulated memory,
#   no mismatch while pages go back and forth (write-protect before copy);
# - xz -9 / xz -d and sqlite3 (PRAGMA integrity_check) with memory.size at
#   25% of their native peak RSS;
# - fork after most of the heap was swapped out: parent and child read
#   their own correct data;
# - too little swap: an emulated OOM with a report, exit 137;
# - bad swap config: exit 2 before the program runs.
# The cxl preset keeps the injected device time short; other presets only
# change the delay (tests/unit/test_config.c checks their figures).
. "$(dirname "$0")/lib.bash"

swapped() { # NAME: the run really swapped out and back in, and the JSON says so
	local out in
	out=$(json "$T/$1.json" 'j["swap"]["swapouts"]')
	in=$(json "$T/$1.json" 'j["swap"]["swapins"]')
	((out > 0 && in > 0)) || fail "$1: swap-outs $out, swap-ins $in: nothing was swapped"
	(($(json "$T/$1.json" 'j["swap"]["measured"]["bytes_written"]') > 0)) || fail "$1: no bytes written"
	echo "$1: swapped out $out, in $in pages;" \
		"$(json "$T/$1.json" 'j["swap"]["major_faults"]') major faults," \
		"$(json "$T/$1.json" 'j["swap"]["injected"]["device_ns"] // 1000000') ms injected"
}

# at_quarter NAME [STDIN] -- CMD: native peak RSS, then CMD under vmemu
# with memory.size = 25% of it and swap
at_quarter() {
	local name=$1 in=/dev/null; shift
	if [[ $1 != -- ]]; then in=$1; shift; fi
	shift
	(cd "$T" && "$PROGS/maxrss" "$T/$name.peak" "$@") <"$in" >/dev/null 2>&1
	local kb=$(($(cat "$T/$name.peak") / 4 / 4 * 4))
	((kb >= 1024)) || kb=1024
	echo "$name: native peak RSS $(cat "$T/$name.peak") KiB, memory.size = ${kb}K"
	VMEMU_OPTS="-s memory.size=${kb}K -s swap.size=1G -s swap.device=cxl ${EXTRA:-}" \
		compare_native "$name" "$in" -- "$@"
	swapped "$name"
}

# 96 MiB of pages rewritten 2 rounds under 24 MiB; clock, then lru with
# THP pages swapped whole
VMEMU_OPTS="-s memory.size=24M -s swap.size=256M -s swap.device=cxl" \
	compare_native sc_clock -- "$PROGS/swapcheck" 96 2
grep -q "concurrent mismatches 0, final mismatches 0" "$T/sc_clock.vmemu" || fail "swapcheck mismatches"
swapped sc_clock
(($(json "$T/sc_clock.json" 'j["swap"]["wp_faults"]') > 0)) || fail "no write-protect faults"
VMEMU_OPTS="-s memory.size=24M -s swap.size=256M -s swap.device=cxl -s reclaim.policy=lru \
-s mimicos.policy=thp -s thp.mode=always -s swap.thp=whole -s thp.host_backing=none" \
	compare_native sc_lru -- "$PROGS/swapcheck" 96 2
swapped sc_lru
(($(json "$T/sc_lru.json" 'j["swap"]["thp_swapout"]') > 0)) || fail "sc_lru: no 2 MiB page swapped whole"

# 400 KB of input: at 25% xz -9's hash chains thrash (every access a major
# fault, ~30 us each here), so a larger input takes minutes
# with the protect sampler taking pages away meanwhile (UFFDIO_MOVE to its
# stash): eviction must bring them back before writing them out
VMEMU_OPTS="-c $ROOT/configs/machines/golden_cove.ini -s sampler.source=protect -s sampler.rate=0.05 \
-s memory.size=16M -s swap.size=256M -s swap.device=cxl" \
	compare_native sc_sampled -- "$PROGS/swapcheck" 64 2
swapped sc_sampled

# hugetlb pool pages in the heap are never swapped (Linux does not swap
# hugetlb); the rest of the heap is
VMEMU_OPTS="-s memory.size=48M -s hugetlb.nr_2m=8 -s hugetlb.heap=2m -s swap.size=256M -s swap.device=cxl" \
	compare_native sc_hugetlb -- "$PROGS/swapcheck" 96 1
swapped sc_hugetlb

gen_text "$T/big.txt" 1
head -c 400000 "$T/big.txt" >"$T/in.txt"
at_quarter xzc "$T/in.txt" -- xz -9 -T1 -c
# decompression walks its dictionary in order: 8 MB, so the window is large
gen_text "$T/big.txt" 8
xz -6 -T1 -c <"$T/big.txt" >"$T/big.xz"
EXTRA="-s reclaim.policy=wsclock" at_quarter xzd "$T/big.xz" -- xz -d -c
cmp -s "$T/xzd.vmemu" "$T/big.txt" || fail "decompressed output differs from the input"
if command -v sqlite3 >/dev/null; then
	gen_sql "$T/script.sql"
	EXTRA="-s reclaim.policy=fifo" at_quarter sql "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
	grep -qx ok "$T/sql.vmemu" || fail "sqlite3 integrity_check did not say ok"
fi

# fork with 48 of 64 MiB in swap
VMEMU_OPTS="-s memory.size=16M -s swap.size=256M -s swap.device=cxl" \
	compare_native forkswap -- "$PROGS/forkswap" 64
grep -q "parent: 0 bad" "$T/forkswap.vmemu" || fail "forkswap: parent data damaged"
grep -q "child: after rewrite 0 bad" "$T/forkswap.vmemu" || fail "forkswap: child data damaged"
swapped forkswap

# not enough swap: emulated OOM with a report, never wrong data
"$VMEMU" run -s memory.size=16M -s swap.size=8M -o "$T/oom.report" -- "$PROGS/touch" 64 \
	>"$T/oom.out" 2>"$T/oom.err"
rc=$?
((rc == 137)) || { cat "$T/oom.err"; fail "too little swap: exit $rc, expected 137"; }
grep -q "emulated OOM" "$T/oom.err" || fail "no OOM message"
grep -q "swap used .* (swap was full)" "$T/oom.report" || fail "the report does not say swap was full"
echo "oom: exit 137, report says swap was full"

# bad input: exit 2, the program never starts
for bad in "swap.file=/proc" "swap.file=/etc/hostname" "swap.device=floppy" "reclaim.policy=mru" \
	"swap.size=12345"; do
	rm -f "$T/ran"
	"$VMEMU" run -s swap.size=64M -s "$bad" -- sh -c "touch $T/ran" 2>"$T/bad.err"
	rc=$?
	((rc == 2)) || fail "-s $bad: exit $rc, expected 2"
	[[ ! -e $T/ran ]] || fail "-s $bad: the program ran"
	grep -q "key '${bad%%=*}'" "$T/bad.err" || { cat "$T/bad.err"; fail "-s $bad: error does not name the key"; }
	echo "bad input -s $bad: exit 2: $(head -c 150 "$T/bad.err")"
done
