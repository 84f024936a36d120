# fork without exec: the child reads the parent's heap data, writes its own
# (also into pages the parent never touched), and the parent's data stays.
# Both processes are emulated: the child writes its own report (.PID).
. "$(dirname "$0")/lib.bash"
compare_native fork -- "$PROGS/forkheap"
ls "$T"/fork.report.* >/dev/null 2>&1 || fail "the fork child wrote no report of its own"
child=$(ls "$T"/fork.json.* | head -1)
f=$(json "$child" 'j["faults"]["handled"]')
# the child touches 32 MiB the parent never did, plus 32 MiB fresh
((f >= 16384)) || fail "fork child handled only $f faults (expected >= 16384)"
[[ $(json "$child" 'j["run"]["parent_pid"]') != 0 ]] || fail "child report lacks parent pid"
