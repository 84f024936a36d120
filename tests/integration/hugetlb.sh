# hugetlb pools (issue 3). A program's mmap(MAP_HUGETLB) fails with ENOMEM
# on this host (no hugetlb pages), so tests/progs/hugetlb falls back to
# ordinary memory there and applies the hugetlb rules itself: its stdout must
# be byte for byte the same when vmemu serves the mapping from an emulated
# pool, which it does only if the rules (EINVAL for splitting a page,
# DONTNEED rounded down to whole pages, no growing mremap, ENOMEM beyond the
# pool) hold. Then the malloc heap from the 2 MiB pool (python3, sort, with a
# pool that runs out), a 1 GiB page, replay in 1 GiB pages, and a pool that
# does not fit memory.size.
. "$(dirname "$0")/lib.bash"
grep -Eq '^HugePages_Total: +0$' /proc/meminfo || skip "the host has hugetlb pages: MAP_HUGETLB would not fail natively"
j() { json "$T/$1.json" "$2"; }

# 1. MAP_HUGETLB of 4 x 2 MiB from a pool of 4
VMEMU_OPTS="-s hugetlb.nr_2m=4" compare_native h2m -- "$PROGS/hugetlb" 2m 4
grep -q "hugetlb mapping of 4 x 2m" "$T/h2m.vmemu.err" || fail "h2m: the pool did not serve the mmap"
grep -q "ordinary mapping" "$T/h2m.native.err" || fail "h2m: native MAP_HUGETLB did not fail"
[[ $(j h2m 'j["address_space"]["hugetlb_mmaps"]') == 1 ]] || fail "h2m: hugetlb mmaps"
[[ $(j h2m 'j["address_space"]["hugetlb_mmaps_enomem"]') == 1 ]] || fail "h2m: the 5-page mmap was not refused"
[[ $(j h2m 'j["address_space"]["hugetlb_calls_einval"]') == 5 ]] || fail "h2m: EINVAL refusals"
# 4 pages, and page 0 again after DONTNEED; one 2 MiB populate each
[[ $(j h2m 'j["memory"]["hugetlb"]["2M"]["faults"]') == 5 ]] || fail "h2m: $(j h2m 'j["memory"]["hugetlb"]') "
[[ $(j h2m 'j["memory"]["hugetlb"]["2M"]["free"]') == 4 ]] || fail "h2m: pages not back in the pool"
[[ $(j h2m 'j["memory"]["hugetlb"]["2M"]["reserved"]') == 0 ]] || fail "h2m: reservations left"
((($(j h2m 'j["faults"]["pages_populated"]') >= 5 * 512))) || fail "h2m: fewer pages populated than 5 x 512"
# an empty pool: ENOMEM, exactly as natively
compare_native h2m0 -- "$PROGS/hugetlb" 2m 4
grep -q "ordinary mapping" "$T/h2m0.vmemu.err" || fail "h2m0: an empty pool served a mapping"
[[ $(j h2m0 'j["address_space"]["hugetlb_mmaps_enomem"]') == 2 ]] || fail "h2m0: ENOMEM count"

# 2. one 1 GiB page: one fault, one 1 GiB populate
VMEMU_OPTS="-s hugetlb.nr_1g=1" compare_native h1g -- "$PROGS/hugetlb" 1g 1
grep -q "hugetlb mapping of 1 x 1g" "$T/h1g.vmemu.err" || fail "h1g: the pool did not serve the mmap"
[[ $(j h1g 'j["memory"]["hugetlb"]["1G"]["faults"]') == 1 ]] || fail "h1g: 1 GiB faults"
((($(j h1g 'j["faults"]["pages_populated"]') >= 262144))) || fail "h1g: 1 GiB not populated"
echo "1 GiB page populated; fault service time max $(j h1g 'j["fault_latency_ns"]["max"]') ns"

# 3. the malloc heap from the 2 MiB pool, and a pool too small for it
gen_lines "$T/lines" 200000
VMEMU_OPTS="-s hugetlb.nr_2m=64 -s hugetlb.heap=2m" \
	compare_native heap-py -- python3 -c 'd = {i: str(i) for i in range(400_000)}; print(len(d), sum(map(len, d.values())))'
((($(j heap-py 'j["memory"]["hugetlb"]["2M"]["heap_faults"]') >= 10))) || fail "heap-py: heap not served from the pool"
VMEMU_OPTS="-s hugetlb.nr_2m=2 -s hugetlb.heap=2m" compare_native heap-sort "$T/lines" -- sort
[[ $(j heap-sort 'j["memory"]["hugetlb"]["2M"]["heap_faults"]') == 2 ]] || fail "heap-sort: pool pages used"
((($(j heap-sort 'j["memory"]["hugetlb"]["2M"]["heap_fallbacks"]') > 0))) || fail "heap-sort: no fallback"
echo "heap: python3 $(j heap-py 'j["memory"]["hugetlb"]["2M"]["heap_faults"]') pool pages;" \
	"sort 2 pool pages then $(j heap-sort 'j["memory"]["hugetlb"]["2M"]["heap_fallbacks"]') faults on normal pages"

# 4. replay in 1 GiB pages: random loads over 4 GiB (synthetic lackey trace)
python3 - "$T/rand.lackey" <<'EOF'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "w") as f:
    for _ in range(100000):
        f.write(" L %x,8\n" % (0x400000000 + r.randrange(4 << 30 >> 3) * 8))
EOF
m=$ROOT/configs/machines/golden_cove.ini
"$VMEMU" replay -c "$m" -s memory.size=5G -s hugetlb.nr_1g=4 -s hugetlb.heap=1g \
	--json "$T/r1g.json" "$T/rand.lackey" >/dev/null 2>"$T/r1g.err" || { cat "$T/r1g.err"; fail "replay 1G"; }
"$VMEMU" replay -c "$m" -s memory.size=5G -s mimicos.policy=thp -s thp.mode=always \
	--json "$T/r2m.json" "$T/rand.lackey" >/dev/null 2>"$T/r2m.err" || { cat "$T/r2m.err"; fail "replay 2M"; }
[[ $(j r1g 'j["faults"]["by_page_size"]["1G"]') == 4 ]] || fail "replay: not 4 faults in 1 GiB pages"
[[ $(j r1g 'j["tlb"]["walks_by_page_size"]["1G"]') == 4 ]] || fail "replay: 1 GiB walks"
stlb() { j "$1" 'sum(s["misses"] for s in j["tlb"]["structures"] if s["name"].startswith("stlb"))'; }
s1=$(stlb r1g) s2=$(stlb r2m)
echo "replay, golden_cove, 100000 random loads over 4 GiB: STLB misses 2M pages $s2, 1G pages $s1"
((s1 * 100 < s2)) || fail "1 GiB pages did not cut STLB misses against 2 MiB ($s2 -> $s1)"

# 5. a pool that does not fit: exit 2 before the program runs, naming the key
printf '[memory]\nsize = 4G\n[hugetlb]\nnr_1g = 5\n' >"$T/big.ini"
"$VMEMU" run -c "$T/big.ini" -- sh -c "touch $T/ran" 2>"$T/big.err"; rc=$?
((rc == 2)) || fail "oversized pool: exit $rc"
grep -q "^vmemu: $T/big.ini:4: key 'hugetlb.nr_1g': 5 pages of 1 GiB do not fit" "$T/big.err" ||
	{ cat "$T/big.err"; fail "oversized pool: message"; }
[[ ! -e $T/ran ]] || fail "oversized pool: the program ran"
echo "ok: $(head -1 "$T/big.err")"
