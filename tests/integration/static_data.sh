# Static data (heap.static_data = on): the program's .data and .bss are
# managed like the heap. Their contents survive the move (initialised data,
# zero .bss), their first touches are faults MimicOS resolves, the samplers
# see their accesses, fork children keep them, and real programs give native
# output with every sampler record accounted for.
. "$(dirname "$0")/lib.bash"
M="$ROOT/configs/machines/golden_cove.ini"

sd() { json "$T/$1.json" 'j["address_space"]["static_data"]["'"$2"'"]'; }
est() { json "$T/$1.json" '[x for x in j["sampler"]["sources"] if x["name"] == "'"$2"'"][0]["estimated"]["stlb_misses"]'; }

# --- a program of static data only ---------------------------------------------
# staticdata checks a 256 KiB initialised array (64 pages from the file,
# present at start), writes one word in each of the 4096 pages of a 16 MiB
# .bss array and reads them back 4 times with a page stride. Managed, those
# 4096 pages are 4096 more faults; the 1 MiB it never touches, none.
VMEMU_OPTS="-c $M -s sampler.source=tlbtrap -s heap.static_data=off"
compare_native off -- "$PROGS/staticdata" 4
VMEMU_OPTS="-c $M -s sampler.source=tlbtrap -s heap.static_data=on"
compare_native on -- "$PROGS/staticdata" 4
f_off=$(json "$T/off.json" 'j["faults"]["handled"]') f_on=$(json "$T/on.json" 'j["faults"]["handled"]')
echo "faults: $f_off unmanaged, $f_on managed; static data: $(sd on segments) segments," \
	"$(sd on bytes) bytes, $(sd on pages_present) pages present at start"
((f_on - f_off >= 4096 && f_on - f_off <= 4096 + 64)) ||
	fail "managing static data added $((f_on - f_off)) faults; the program first touches 4096 .bss pages"
(($(sd on pages_present) >= 64)) || fail "$(sd on pages_present) pages present at start: the 64 of .data are not mapped in MimicOS"
(($(sd on bytes) >= (17 << 20) + (256 << 10))) || fail "$(sd on bytes) bytes managed: less than .data + .bss"
(($(sd on objects_of_runtime) >= 3)) || fail "the runtime's own objects (libvmemu, libc, ld.so) were not left alone"
[[ -z $(json "$T/off.json" 'j["address_space"].get("static_data", "")') ]] || fail "static data reported while off"
# tlbtrap's TLB (2048 entries) cannot hold the 4096 pages a round strides over:
# every read is a miss, when the samplers see static data
e_off=$(est off tlbtrap) e_on=$(est on tlbtrap)
echo "tlbtrap STLB misses: $e_off unmanaged, $e_on managed"
python3 -c "import sys; sys.exit(not ($e_off < 4096 and $e_on >= 5 * 4096))" ||
	fail "tlbtrap saw $e_on misses over static data (>= 20480 expected; $e_off without it)"
accounted on

# --- every page taken away every ms: contents survive -----------------------
for src in "protect -s sampler.rate=1 -s sampler.block_pages=1" "protect,tlbtrap -s sampler.rate=0.5 -s sampler.block_pages=64"; do
	VMEMU_OPTS="-c $M -s heap.static_data=on -s sampler.interval_ms=1 -s sampler.source=$src"
	compare_native churn -- "$PROGS/staticdata" 8
	accounted churn
done

# --- written-page scan and swap over static data -------------------------------
# wpscan: the pages present at start are protected (not counted as written);
# an absent .bss page must still fault in when read (a uffd-wp marker on it
# would make the zero-page fill fail for ever)
VMEMU_OPTS="-c $M -s heap.static_data=on -s sampler.source=wpscan"
compare_native wp -- "$PROGS/staticdata" 2
w=$(json "$T/wp.json" '[x for x in j["sampler"]["sources"] if x["name"] == "wpscan"][0]["pages_written"]')
((w >= 4096 && w < 4096 + 512)) || fail "wpscan: $w written pages; the program writes 4096 .bss pages once"
# swap: 17 MiB of static data in 8 MiB of emulated memory
VMEMU_OPTS="-c $M -s heap.static_data=on -s memory.size=8M -s swap.size=64M"
compare_native swap -- "$PROGS/staticdata" 2
so=$(json "$T/swap.json" 'j["swap"]["swapouts"]')
((so >= 2048)) || fail "swap: only $so pages swapped out of 17 MiB in 8 MiB"

# --- fork: the child's static data is its own, managed by its own handler -------
VMEMU_OPTS="-c $M -s heap.static_data=on -s sampler.source=protect"
compare_native fork -- "$PROGS/staticdata" 2 fork
grep -q '^child bss' "$T/fork.vmemu" || fail "no child output"

# --- threads and real programs ---------------------------------------------------
VMEMU_OPTS="-c $M -s heap.static_data=on -s sampler.source=protect,tlbtrap -s sampler.tlb_entries=64"
compare_native thr -- "$PROGS/threads" 8
accounted thr
gen_lines "$T/lines" 100000
VMEMU_OPTS="-c $M -s heap.static_data=on -s sampler.source=protect"
compare_native py -- python3 -c 'import json, zlib; d = {str(i): [i] * 3 for i in range(50_000)}; s = json.dumps(d); print(len(s), zlib.crc32(s.encode()))'
(($(sd py segments) >= 2)) || fail "python3: $(sd py segments) data segments managed (the interpreter and libpython expected)"
accounted py
compare_native sort "$T/lines" -- sort -S 64M
accounted sort
if command -v xz >/dev/null; then
	compare_native xz "$T/lines" -- xz -c -3
	accounted xz
fi
if command -v sqlite3 >/dev/null; then
	gen_sql "$T/script.sql"
	compare_native sql "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
fi

# --- bad value: named, before the program runs --------------------------------------
out=$("$VMEMU" run -s heap.static_data=yes -- true 2>&1); rc=$?
((rc == 2)) && [[ $out == *heap.static_data* ]] || fail "bad heap.static_data: exit $rc: $out"
echo "ok"
