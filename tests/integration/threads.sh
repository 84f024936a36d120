# 16 threads allocate, verify, hand over and free blocks concurrently.
. "$(dirname "$0")/lib.bash"
compare_native thr -- "$PROGS/threads" 16
grep -q "all blocks intact" "$T/thr.vmemu" || fail "corruption under vmemu"
faults_at_least thr 100
