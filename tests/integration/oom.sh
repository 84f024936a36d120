# Emulated OOM: touching more than memory.size prints a report naming the
# limit and the process dies as the OOM killer would (SIGKILL: status 137).
. "$(dirname "$0")/lib.bash"
"$VMEMU" run -s memory.size=32M -o "$T/oom.report" -- "$PROGS/touch" 64 >"$T/out" 2>"$T/err"
rc=$?
((rc == 137)) || { cat "$T/err"; fail "exit status $rc, expected 137 (SIGKILL)"; }
grep -q "emulated OOM" "$T/err" || fail "no OOM message on stderr"
grep -q "memory.size = 33554432" "$T/err" || fail "OOM message does not name the limit"
grep -q "EMULATED OOM" "$T/oom.report" || fail "report does not say OOM"
[[ ! -s $T/out ]] || fail "program printed output after OOM"
