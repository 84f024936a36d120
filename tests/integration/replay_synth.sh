# vmemu replay on synthetic VMTR traces written by build/bench/mktrace (no
# Valgrind needed): the khugepaged scan runs on the trace clock or the
# access clock as many times as computed here from the trace's length, and
# does scan; walk.memory = cache and the SBFP / ATP prefetchers report
# figures that add up.
. "$(dirname "$0")/lib.bash"
MK="$ROOT/build/bench/mktrace"
[[ -x $MK ]] || fail "build/bench/mktrace missing (make all)"
M="$ROOT/configs/machines/golden_cove.ini"
N=1000000

# 1,000,000 accesses, 100 ns apart: the last record is at 99,999,900 ns
"$MK" -n $N --ns-per-access 100 "$T/ns.vmtr" || fail "mktrace"
"$MK" -n 2500000 --seq-time "$T/seq.vmtr" || fail "mktrace --seq-time"

replay() { # name args...: replay, JSON in $T/name.json
	local n=$1; shift
	"$VMEMU" replay -c "$M" --json "$T/$n.json" "$@" >"$T/$n.report" 2>"$T/$n.err" ||
		{ cat "$T/$n.err"; fail "$n: replay exited $?"; }
}
scans() { json "$T/$1.json" 'j["faults"]["khugepaged"]["scans"]'; }
clock() { json "$T/$1.json" 'j["faults"]["khugepaged"]["clock"]'; }

# --- trace time: scans when a record reaches the previous scan (first: the
# first record) + 10 ms: records 100,000, 200,000, ... 900,000 -> 9 scans
replay ns -s mimicos.policy=reservethp -s thp.scan_interval_ms=10 "$T/ns.vmtr"
[[ $(clock ns) == trace_ns ]] || fail "ns trace: clock $(clock ns), expected trace_ns"
[[ $(scans ns) == 9 ]] || fail "ns trace: $(scans ns) scans, expected 9"
grep -q "khugepaged scans  *9  (every 10 ms of trace time" "$T/ns.report" || fail "ns: report line"
pages=$(json "$T/ns.json" 'j["faults"]["khugepaged"]["scan_pages"]')
# reservethp keeps 4 KiB mappings below the promotion threshold: there is
# something to examine, 512 pages per region, within 9 scans of 4096 pages
((pages > 0 && pages % 512 == 0 && pages <= 9 * 4096)) || fail "ns: scan_pages $pages"
echo "trace clock: 9 scans, $pages pages scanned, $(json "$T/ns.json" 'j["faults"]["khugepaged"]["collapsed"]') regions collapsed"

# --- access clock forced: before accesses 250,000, 500,000, 750,000 -> 3
replay every -s mimicos.policy=reservethp -s thp.scan_interval_ms=10 --scan-every 250000 "$T/ns.vmtr"
[[ $(clock every) == accesses && $(scans every) == 3 ]] ||
	fail "--scan-every 250000: clock $(clock every), $(scans every) scans, expected accesses, 3"

# --- no ns time: the access clock at one access per ns: 1 ms = 1,000,000
# accesses: before accesses 1,000,000 and 2,000,000 of 2,500,000 -> 2
replay seq -s mimicos.policy=thp -s thp.mode=always -s thp.scan_interval_ms=1 "$T/seq.vmtr"
[[ $(clock seq) == accesses && $(scans seq) == 2 ]] ||
	fail "seq-time trace: clock $(clock seq), $(scans seq) scans, expected accesses, 2"
# thp always maps every region as one 2 MiB page: the scan skips them for free
[[ $(json "$T/seq.json" 'j["faults"]["khugepaged"]["scan_pages"]') == 0 ]] || fail "thp always scanned pages"

# --- off: baseline policy, interval 0, --scan-every 0
replay base -s thp.scan_interval_ms=1 "$T/ns.vmtr"
[[ $(json "$T/base.json" 'j["faults"]["khugepaged"]["on"]') == False && $(scans base) == 0 ]] ||
	fail "baseline policy scanned"
grep -q "khugepaged scans  *off  (policy baseline)" "$T/base.report" || fail "baseline: report line"
replay zero -s mimicos.policy=thp -s thp.scan_interval_ms=0 "$T/ns.vmtr"
[[ $(scans zero) == 0 ]] || fail "interval 0 scanned"
replay never -s mimicos.policy=thp --scan-every 0 "$T/ns.vmtr"
[[ $(scans never) == 0 ]] || fail "--scan-every 0 scanned"
"$VMEMU" replay -c "$M" --scan-every many "$T/ns.vmtr" >/dev/null 2>"$T/bad.err" && fail "--scan-every many accepted"
grep -q "scan-every: not a number" "$T/bad.err" || fail "--scan-every error unclear"

# --- walk.memory = cache: every entry read hits or misses the PTE cache
replay cache -s walk.memory=cache "$T/ns.vmtr"
python3 - "$T/cache.json" "$T/base.json" <<'EOF' || fail "PTE cache figures"
import json, sys
c, f = (json.load(open(p))["tlb"] for p in sys.argv[1:3])
w = c["walk_memory"]
assert w["model"] == "cache" and (w["sets"], w["ways"], w["line_bytes"]) == (64, 12, 64), w
assert w["pte_cache_hits"] + w["pte_cache_misses"] == c["pte_reads"], w
assert w["pte_cache_hits"] > 0 and w["pte_cache_misses"] > 0, w
# same TLB behaviour, other walk costs
assert c["walks"] == f["walks"] and c["tlb_cycles"] == f["tlb_cycles"]
assert c["translation_cycles"] == c["tlb_cycles"] + c["walk_cycles"]
print("PTE cache: %d hits, %d misses; walk cycles %d (fixed model %d)" % (
    w["pte_cache_hits"], w["pte_cache_misses"], c["walk_cycles"], f["walk_cycles"]))
EOF

# --- SBFP and ATP: counters add up, and they cut walks on this trace
"$MK" -n $N --pc "$T/pc.vmtr" || fail "mktrace --pc"
replay nopf "$T/pc.vmtr"
replay pf -c "$ROOT/configs/machines/prefetch/virtuoso_prefetch.ini" -s prefetch.prefetchers=atp,sbfp "$T/pc.vmtr"
python3 - "$T/pf.json" "$T/nopf.json" <<'EOF' || fail "SBFP/ATP figures"
import json, sys
j, n = (json.load(open(p))["tlb"] for p in sys.argv[1:3])
pf = {p["name"]: p for p in j["prefetch"]["prefetchers"]}
a, s = pf["atp"], pf["sbfp"]
for p in (a, s):
    extra = p.get("sampled", 0)
    assert p["candidates"] == p["issued"] + p["duplicate"] + p["failed"] + extra, p
assert a["disabled"] + sum(a["chose"].values()) == a["triggers"], a
assert len(s["fdt"]) == 14 and all(0 <= v < 1024 for v in s["fdt"]), s
assert j["prefetch"]["pq_hits"] == a["useful"] + s["useful"]
assert j["walks"] + j["prefetch"]["pq_hits"] + sum(j["hits_by_level"]) == j["accesses"]
assert j["walks"] < n["walks"], (j["walks"], n["walks"])
print("atp,sbfp: walks %d -> %d; atp chose %s, off %d; sbfp issued %d, useful %d" % (
    n["walks"], j["walks"], a["chose"], a["disabled"], s["issued"], s["useful"]))
EOF
echo "replay_synth: ok"
