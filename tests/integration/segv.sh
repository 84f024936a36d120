# A program with its own SIGSEGV handler: its handler still runs for its own
# faults and the heap stays intact.
. "$(dirname "$0")/lib.bash"
compare_native segv -- "$PROGS/segv"
grep -q "handler 3 ran for the guard page: right address" "$T/segv.vmemu" || fail "handler did not run"
