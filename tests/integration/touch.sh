# A program that touches exactly 64 MiB (16384 pages) of malloc'd memory:
# the emulator must see at least those faults, and not many more (the rest
# is the allocator's and libc's own start-up memory).
. "$(dirname "$0")/lib.bash"
compare_native touch -- "$PROGS/touch" 64
f=$(json "$T/touch.json" 'j["faults"]["handled"]')
((f >= 16384 && f <= 16384 + 1024)) || fail "touch: $f faults for 16384 touched pages"
w=$(json "$T/touch.json" 'j["faults"]["write"]')
((w >= 16384)) || fail "touch: only $w write faults for 16384 written pages"
consistent touch $((64 << 20))
# the handlers' CPU time: they served ~16,400 faults (more than 1 us each
# here), and no thread uses more CPU than the run's wall time
python3 - "$T/touch.json" <<'PY' || fail "fault handlers' CPU time"
import json, sys
r = json.load(open(sys.argv[1]))["run"]
cpu, wall, n = r["fault_handlers_cpu_ns"], r["wall_time_ns"], r["fault_handlers"]
print("handlers: %.1f ms CPU in %.1f ms wall, %d threads" % (cpu / 1e6, wall / 1e6, n))
assert 16384 * 1000 < cpu <= n * wall * 1.02, r
PY
