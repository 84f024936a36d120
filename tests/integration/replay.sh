# vmemu replay: lackey traces of real programs recorded with Valgrind, replayed
# under every machine in configs/machines/; the report's invariants are
# checked against figures computed here from the trace itself. The same
# trace written as VMTR (by an independent Python writer that follows
# tlbmodel/include/tlbmodel/trace.h) must give the same figures. Bad traces
# must fail with file and offset/line and print no report. 2 MiB pages
# (thp with mode always, and reservethp promoting on the first fault) must
# cut STLB misses against 4 KiB pages on a program with a 64 MiB heap.
. "$(dirname "$0")/lib.bash"
command -v valgrind >/dev/null || skip "valgrind not installed"
MACHINES=("$ROOT"/configs/machines/*.ini)

# --- 1. a real program: sort -n of a thousand generated lines --------------
python3 -c '
import random
r = random.Random(5)
print("\n".join("%d %s" % (r.randrange(10**6), "x" * r.randrange(40)) for _ in range(1000)))' >"$T/lines"
start=$SECONDS
valgrind --tool=lackey --trace-mem=yes --log-file="$T/sort.lackey" env LC_ALL=C sort -n "$T/lines" >"$T/sorted" ||
	fail "valgrind sort failed"
LC_ALL=C sort -n "$T/lines" | cmp -s - "$T/sorted" || fail "sort under valgrind gave other output"
echo "recorded sort: $(wc -l <"$T/sort.lackey") lackey lines in $((SECONDS - start)) s"

# Figures from the trace itself: data accesses (M = load + store), distinct
# 4 KiB pages touched, user-space range check.
python3 - "$T/sort.lackey" >"$T/sort.expect" <<'EOF'
import sys
acc = loads = stores = instr = 0
pages = set()
for line in open(sys.argv[1]):
    if line.startswith("I  "):
        instr += 1; continue
    if len(line) < 4 or line[0] != " ":
        continue
    kind, rest = line[1], line[3:]
    addr = int(rest.split(",")[0], 16)
    assert 4096 <= addr < 1 << 47
    pages.add(addr >> 12)
    if kind == "L": loads += 1
    elif kind == "S": stores += 1
    elif kind == "M": loads += 1; stores += 1
acc = loads + stores
print(acc, loads, stores, len(pages), instr)
EOF
read -r ACC LOADS STORES PAGES INSTR <"$T/sort.expect"
echo "trace: $ACC data accesses ($LOADS loads, $STORES stores), $PAGES distinct pages, $INSTR instruction fetches"

check_report() { # name json: invariants of a complete baseline replay
	local n=$1 j=$2
	python3 - "$j" "$ACC" "$LOADS" "$STORES" "$PAGES" "$n" <<'EOF' || fail "$n: invariants"
import json, sys
j = json.load(open(sys.argv[1])); acc, loads, stores, pages = map(int, sys.argv[2:6]); n = sys.argv[6]
t, f, r = j["tlb"], j["faults"], j["replay"]
def check(cond, what):
    if not cond:
        print("%s: %s" % (n, what)); sys.exit(1)
check(r["complete"] is True, "not complete")
check(r["data_accesses"] == acc and t["accesses"] == acc, "accesses %d/%d != %d" % (r["data_accesses"], t["accesses"], acc))
check(t["loads"] == loads and t["stores"] == stores, "loads/stores differ")
check(f["handled"] == pages, "faults %d != distinct pages %d" % (f["handled"], pages))
check(j["memory"]["frames_in_use"] == pages, "frames in use != pages")
check(j["memory"]["page_table_pages"] >= 4, "fewer than 4 page-table pages")
check(t["walks"] > 0, "no walks")
check(t["walks"] >= pages, "fewer walks than pages first touched")
for s in t["structures"]:
    check(s["hits"] + s["misses"] == s["accesses"], "%s: hits + misses != accesses" % s["name"])
check(sum(t["hits_by_level"]) + t["walks"] == acc, "hits by level + walks != accesses")
for l in t["pwc"].values():
    check(l["hits"] <= l["lookups"], "PWC hits > lookups")
check(t["translation_cycles"] == t["tlb_cycles"] + t["walk_cycles"], "cycles do not add up")
check(sum(t["walks_by_page_size"].values()) == t["walks"], "walks by size")
l1 = [s for s in t["structures"] if s["level"] == 1]
check(sum(s["accesses"] for s in l1) == acc, "level-1 structures do not see every access once")
print("%s: %d accesses, %d walks (%.0f per M), %d faults, %.2f cycles/access" % (
    n, acc, t["walks"], t["walks_per_million_accesses"], f["handled"], t["cycles_per_access"]))
EOF
}

for m in "${MACHINES[@]}"; do
	n=$(basename "$m" .ini)
	"$VMEMU" replay -c "$m" --json "$T/$n.json" "$T/sort.lackey" >"$T/$n.report" 2>"$T/$n.err" ||
		{ cat "$T/$n.err"; fail "$n: replay exited $?"; }
	grep -q "^-- TLB" "$T/$n.report" || fail "$n: no TLB section in the human report"
	grep -q "INCOMPLETE" "$T/$n.report" && fail "$n: report marked INCOMPLETE"
	check_report "$n" "$T/$n.json"
done

# stdin gives the same figures
"$VMEMU" replay -c "${MACHINES[0]}" --json "$T/stdin.json" - <"$T/sort.lackey" >/dev/null ||
	fail "replay from stdin"
[[ $(json "$T/stdin.json" 'j["tlb"]') == "$(json "$T/$(basename "${MACHINES[0]}" .ini).json" 'j["tlb"]')" ]] ||
	fail "stdin replay differs"

# --- 2. the same trace as VMTR, written independently from the spec --------
python3 - "$T/sort.lackey" "$T/sort.vmtr" <<'EOF'
import struct, sys
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80); v >>= 7
    out.append(v); return bytes(out)
def zz(d):
    d = (d + (1 << 63)) % (1 << 64) - (1 << 63)   # to signed 64
    return ((d << 1) ^ (d >> 63)) & ((1 << 64) - 1)
recs = []; instr = 0; pc = 0
for line in open(sys.argv[1]):
    if line.startswith("I  "):
        instr += 1; pc = int(line[3:].split(",")[0], 16); continue
    if len(line) < 4 or line[0] != " ": continue
    a = int(line[3:].split(",")[0], 16)
    if line[1] in "LM": recs.append((a, 0))
    if line[1] in "SM": recs.append((a, 1))
body = bytearray(b"VMTR" + struct.pack("<HHBBB5xQ", 1, 0, 12, 7, 3, len(recs)))
pv = pt = 0
for i, (a, w) in enumerate(recs):
    body += bytes([w]) + varint(zz(a - pv)) + varint(zz(i - pt)); pv, pt = a, i
body += b"\x80" + varint(len(recs))
h = 2166136261
for b in body:
    h = ((h ^ b) * 16777619) & 0xffffffff
body += struct.pack("<I", h)
open(sys.argv[2], "wb").write(body)
EOF
m=${MACHINES[0]}; n=$(basename "$m" .ini)
"$VMEMU" replay -c "$m" --json "$T/vmtr.json" "$T/sort.vmtr" >"$T/vmtr.report" 2>"$T/vmtr.err" ||
	{ cat "$T/vmtr.err"; fail "VMTR replay failed"; }
[[ $(json "$T/vmtr.json" 'j["replay"]["format"]') == vmtr ]] || fail "VMTR not detected"
[[ $(json "$T/vmtr.json" 'j["tlb"]') == "$(json "$T/$n.json" 'j["tlb"]')" ]] ||
	fail "VMTR and lackey replays of the same accesses differ"
[[ $(json "$T/vmtr.json" 'j["faults"]') == "$(json "$T/$n.json" 'j["faults"]')" ]] ||
	fail "VMTR and lackey fault figures differ"
echo "VMTR: $(wc -c <"$T/sort.vmtr") bytes for $ACC records ($(wc -c <"$T/sort.lackey") bytes of lackey text); same figures"

# --- 3. bad input: error with file and offset/line, exit 1, no report --------
bad() { # name expected-regex file
	local rc
	"$VMEMU" replay -c "$m" --json "$T/bad.json" "$3" >"$T/bad.out" 2>"$T/bad.err"; rc=$?
	((rc == 1)) || { cat "$T/bad.err"; fail "$1: exit $rc, expected 1"; }
	grep -Eq "$2" "$T/bad.err" || { cat "$T/bad.err"; fail "$1: error does not match /$2/"; }
	[[ -s $T/bad.out ]] && fail "$1: a report was printed for a bad trace"
	[[ -e $T/bad.json ]] && fail "$1: JSON written for a bad trace"
	echo "$1: $(head -c 200 "$T/bad.err")"
}
size=$(stat -c %s "$T/sort.vmtr")
head -c $((size / 2)) "$T/sort.vmtr" >"$T/half.vmtr"
bad truncated "half.vmtr: byte offset [0-9]+: truncated" "$T/half.vmtr"
head -c $((size - 1)) "$T/sort.vmtr" >"$T/minus1.vmtr"
bad truncated-1 "minus1.vmtr: byte offset [0-9]+: truncated" "$T/minus1.vmtr"
head -c 10 "$T/sort.vmtr" >"$T/hdr.vmtr"
bad header-cut "hdr.vmtr: byte offset 10: truncated" "$T/hdr.vmtr"
{ printf 'VMTR\x02\x00'; tail -c +7 "$T/sort.vmtr"; } >"$T/v2.vmtr"
bad version "v2.vmtr: byte offset 4: unsupported trace version: version 2" "$T/v2.vmtr"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=0x10; open(sys.argv[2],"wb").write(b)' \
	"$T/sort.vmtr" "$T/flip.vmtr"
bad bitflip "flip.vmtr: byte offset [0-9]+: (corrupt|checksum|record count)" "$T/flip.vmtr"
{ head -n 1000 "$T/sort.lackey"; echo " L zz12,4"; tail -n +1001 "$T/sort.lackey"; } >"$T/bad.lackey"
bad lackey-line "bad.lackey: line 1001: address is not hexadecimal" "$T/bad.lackey"
printf 'hello\n' >"$T/text"
bad not-a-trace "text: line 1: not a lackey line" "$T/text"
: >"$T/empty"
bad empty "empty: no lackey access lines" "$T/empty"

# no machine: exit 2 with advice
"$VMEMU" replay "$T/sort.lackey" >/dev/null 2>"$T/nomachine.err" && fail "replay without a machine succeeded"
grep -q "no TLB machine" "$T/nomachine.err" || fail "no-machine error unclear"

# --- 4. 2 MiB pages vs 4 KiB on a 64 MiB heap -----------------------------
cat >"$T/heap.c" <<'EOF'
/* Allocates 64 MiB and makes 4 passes touching every 4 KiB page of it in a
 * scattered order (page i*7919 mod N), one byte per page per pass. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	enum { N = 16384 };
	volatile unsigned char *p = malloc((size_t)N * 4096);
	unsigned long sum = 0;
	if (!p) return 1;
	for (int pass = 0; pass < 4; pass++)
		for (unsigned long i = 0; i < N; i++) {
			unsigned long pg = i * 7919 % N;
			if (pass == 0) p[pg * 4096 + 64] = (unsigned char)pg;
			else sum += p[pg * 4096 + 64];
		}
	printf("%lu\n", sum);
	return 0;
}
EOF
cc -O2 -o "$T/heap" "$T/heap.c" || fail "cannot compile heap.c"
start=$SECONDS
valgrind --tool=lackey --trace-mem=yes --log-file="$T/heap.lackey" "$T/heap" >/dev/null || fail "valgrind heap"
echo "recorded heap: $(wc -l <"$T/heap.lackey") lackey lines in $((SECONDS - start)) s"
m=$ROOT/configs/machines/golden_cove.ini
"$VMEMU" replay -c "$m" --json "$T/h4k.json" "$T/heap.lackey" >/dev/null || fail "heap 4K replay"
"$VMEMU" replay -c "$m" -s mimicos.policy=reservethp -s thp.promotion_threshold=0 \
	--json "$T/h2m.json" "$T/heap.lackey" >/dev/null 2>"$T/h2m.err" || { cat "$T/h2m.err"; fail "heap 2M replay"; }
stlb_misses() { json "$1" 'sum(s["misses"] for s in j["tlb"]["structures"] if s["name"].startswith("stlb"))'; }
s4=$(stlb_misses "$T/h4k.json"); s2=$(stlb_misses "$T/h2m.json")
w4=$(json "$T/h4k.json" 'j["tlb"]["walks"]'); w2=$(json "$T/h2m.json" 'j["tlb"]["walks"]')
f2=$(json "$T/h2m.json" 'j["faults"]["by_page_size"]["2M"] + j["faults"]["promotions"]')
echo "heap, golden_cove: STLB misses 4K pages $s4, 2M pages (reservethp, threshold 0) $s2; walks $w4 vs $w2"
((f2 > 0)) || fail "no 2 MiB page was mapped under reservethp"
((s2 * 4 < s4)) || fail "2 MiB pages did not cut STLB misses at least 4x ($s4 -> $s2)"
((w2 < w4)) || fail "2 MiB pages did not cut walks ($w4 -> $w2)"
# the same with Linux-like THP (policy thp, mode always): 2 MiB pages at fault time
"$VMEMU" replay -c "$m" -s mimicos.policy=thp -s thp.mode=always --json "$T/hthp.json" \
	"$T/heap.lackey" >/dev/null 2>"$T/hthp.err" || { cat "$T/hthp.err"; fail "heap thp replay"; }
st=$(stlb_misses "$T/hthp.json"); wt=$(json "$T/hthp.json" 'j["tlb"]["walks"]')
ft=$(json "$T/hthp.json" 'j["faults"]["by_page_size"]["2M"]')
echo "heap, golden_cove: thp always: STLB misses $st, walks $wt, 2 MiB faults $ft"
((ft > 0)) || fail "thp always mapped no 2 MiB page"
((st * 4 < s4)) || fail "thp always did not cut STLB misses at least 4x ($s4 -> $st)"
((wt < w4)) || fail "thp always did not cut walks ($w4 -> $wt)"
# emulated OOM (64 MiB heap in 16 MiB): report marked INCOMPLETE, exit 137
"$VMEMU" replay -c "$m" -s memory.size=16M --json "$T/oom.json" "$T/heap.lackey" >"$T/oom.report" 2>&1
rc=$?
((rc == 137)) || fail "OOM replay exited $rc, expected 137"
grep -q "INCOMPLETE: EMULATED OOM" "$T/oom.report" || fail "OOM report not marked INCOMPLETE"
[[ $(json "$T/oom.json" 'j["replay"]["complete"]') == False ]] || fail "OOM JSON says complete"
echo "OOM: exit 137, report marked INCOMPLETE after $(json "$T/oom.json" 'j["replay"]["data_accesses"]') accesses"

echo "replay: ok"
