# Written-page scan (issue 6, sampler.source = wpscan): the pages a program
# writes are counted once per interval they are written in, reads are not;
# real programs give native output with every record accounted for; with
# swap the program runs and the report says why wpscan did not; it runs
# beside protect with many threads and survives fork.
. "$(dirname "$0")/lib.bash"
M="$ROOT/configs/machines/golden_cove.ini"

# wps NAME KEY: a figure of the wpscan source in NAME's JSON report
wps() { json "$T/$1.json" '[x for x in j["sampler"]["sources"] if x["name"] == "wpscan"][0]["'"$2"'"]'; }

# --- known writes: N pages, a read-only phase, M pages ------------------------
# wpwrite writes N distinct pages of a managed 4 MiB mmap, reads all 1024
# pages for 5 intervals, writes M other pages. Each written page is written
# once, so it is counted exactly once, whatever the timing. The rest of the
# process (libc, the allocator, stdio) writes some heap pages too: measured
# by a run with N = M = 0, which reads the same 1024 pages. That baseline
# can vary by a few pages (a page written on both sides of a scan counts
# twice): 16 pages of slack. Reads counted as writes would add ~1024 pages.
VMEMU_OPTS="-c $M -s sampler.source=wpscan"
compare_native wp0 -- "$PROGS/wpwrite" 0 0
compare_native wp -- "$PROGS/wpwrite" 200 100
b=$(wps wp0 pages_written) w=$(wps wp pages_written) scans=$(wps wp scans)
echo "baseline $b written pages; 200 + 100 written: $w written pages in $scans scans"
((b < 64)) || fail "a program that only reads 1024 pages wrote $b pages: reads counted as writes"
((w >= 300)) || fail "$w written pages found, 300 were written"
((w <= 300 + b + 16)) || fail "$w written pages found for 300 written + $b baseline: rewritten or read pages counted"
((scans >= 8)) || fail "only $scans scans in a run of 11 intervals"
accounted wp
# the same with pages populated besides the faulting one (fault-around, 2 MiB
# pages): they must be populated write-protected, or read as written
for opt in "mimicos.fault_around=16" "mimicos.policy=thp"; do
	VMEMU_OPTS="-c $M -s sampler.source=wpscan -s $opt -s thp.mode=always"
	compare_native fa -- "$PROGS/wpwrite" 200 100
	w=$(wps fa pages_written)
	((w >= 300 && w <= 300 + b + 16)) || fail "$opt: $w written pages found for 300 written + $b baseline"
done

# ... and with protect taking half the resident pages away every interval:
# the moves lose the written state, so a written page is recorded when taken
# away and a page moved back is protected again (else every page read back
# would count as written)
VMEMU_OPTS="-c $M -s sampler.source=protect,wpscan -s sampler.rate=0.5"
compare_native pr -- "$PROGS/wpwrite" 200 100
w=$(wps pr pages_written)
echo "under protect: $w written pages ($(wps pr written_at_move) when taken away," \
	"$(wps pr reprotected_after_move) protected again after a move back)"
((w >= 300 && w <= 300 + b + 16)) || fail "protect: $w written pages found for 300 written + $b baseline"
(($(wps pr reprotected_after_move) > 0)) || fail "protect moved no page back"

# --- real programs: identical output, every record accounted for -------------
gen_lines "$T/lines" 200000
gen_sql "$T/script.sql"
VMEMU_OPTS="-c $M -s sampler.source=wpscan"
compare_native py -- python3 -c 'x = [i*i for i in range(1_000_000)]; d = {i: str(i) for i in range(200_000)}; print(sum(x), len(d))'
accounted py
compare_native sort "$T/lines" -- sort -S 64M
accounted sort
if command -v sqlite3 >/dev/null; then
	compare_native sql "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
	accounted sql
fi
((($(wps py scan_errors)) == 0)) || fail "py: scan errors: $(wps py scan_error)"
grep -q "stream: one write record per written 4 KiB page per interval" "$T/py.report" || fail "report does not say what the stream is"

# --- swap on: wpscan does not run, says why; swap's write protection works ----
VMEMU_OPTS="-c $M -s sampler.source=wpscan,protect -s memory.size=16M -s swap.size=256M -s swap.device=cxl"
compare_native swap -- "$PROGS/swapcheck" 64 2
grep -q "concurrent mismatches 0, final mismatches 0" "$T/swap.vmemu" || fail "swapcheck mismatches"
grep -q "wpscan   NOT RUN: swap is on (swap.size > 0): UFFD_FEATURE_WP_ASYNC is per userfaultfd" "$T/swap.report" ||
	fail "the report does not say why wpscan did not run with swap"
[[ $(wps swap ran) == False ]] || fail "JSON: wpscan ran with swap"
(($(json "$T/swap.json" 'j["swap"]["wp_faults"]') > 0)) || fail "no synchronous write-protect faults: swap's dirty tracking is off"
(($(json "$T/swap.json" 'j["swap"]["swapouts"]') > 0)) || fail "nothing swapped out"

# --- many threads beside protect, and beside tlbtrap --------------------------
# protect and tlbtrap move pages away and back (UFFDIO_MOVE drops the
# written state): each move back is protected again
VMEMU_OPTS="-c $M -s sampler.source=protect,wpscan -s sampler.rate=0.2 -s sampler.interval_ms=2"
compare_native thr -- "$PROGS/threads" 16
grep -q "all blocks intact" "$T/thr.vmemu" || fail "corruption under protect + wpscan"
accounted thr
(($(wps thr reprotected_after_move) > 0)) || fail "no page protected again after protect moved it back"
(($(wps thr reprotect_failed) == 0)) || fail "protecting moved-back pages failed"
VMEMU_OPTS="-c $M -s sampler.source=tlbtrap,wpscan"
compare_native trap -- python3 -c 'x = [i*i for i in range(300_000)]; print(sum(x))'
accounted trap

# --- fork: the child does not sample, and is emulated with its own uffd -------
VMEMU_OPTS="-c $M -s sampler.source=wpscan"
compare_native fork -- "$PROGS/forkheap"
child=$(ls "$T"/fork.json.* | head -1)
f=$(json "$child" 'j["faults"]["handled"]')
((f >= 16384)) || fail "fork child handled only $f faults (expected >= 16384)"
grep -q "note: not run in a fork child" "$T/fork.report.${child##*.}" || fail "the child's report does not say wpscan did not run there"
(($(wps fork pages_written) > 0)) || fail "the parent's scan found no written page"
# which uffd asked for WP_ASYNC, from its fdinfo ("API: aa:FEATURES:IOCTLS"):
# the parent without swap only; never a fork child (it does not sample)
cat >"$T/fdinfo.py" <<'PY'
import os
def wp_async(who):
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "userfaultfd" in os.readlink("/proc/self/fd/" + fd):
                api = [l for l in open("/proc/self/fdinfo/" + fd) if l.startswith("API")][0]
                print(who, "WP_ASYNC", int(api.split()[1].split(":")[1], 16) >> 15 & 1, flush=True)
        except OSError:
            pass
wp_async("parent")
pid = os.fork()
if pid == 0:
    wp_async("child")
    os._exit(0)
os.waitpid(pid, 0)
PY
"$VMEMU" run -c "$M" -s sampler.source=wpscan -o /dev/null -- python3 "$T/fdinfo.py" >"$T/fdinfo.out" || fail "fdinfo run"
[[ $(cat "$T/fdinfo.out") == $'parent WP_ASYNC 1\nchild WP_ASYNC 0' ]] || { cat "$T/fdinfo.out"; fail "WP_ASYNC: expected in the parent only"; }
"$VMEMU" run -c "$M" -s sampler.source=wpscan -s swap.size=64M -o /dev/null -- python3 "$T/fdinfo.py" >"$T/fdinfo.out" || fail "fdinfo run"
[[ $(cat "$T/fdinfo.out") == $'parent WP_ASYNC 0\nchild WP_ASYNC 0' ]] || { cat "$T/fdinfo.out"; fail "WP_ASYNC with swap on"; }
echo "WP_ASYNC on the parent's uffd only, and not with swap"
echo "wpscan: ok"
