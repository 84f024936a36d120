# python3 builds a 3M-element list under vmemu: same output as native, and
# the emulated frames cover at least the list's 24 MB of pointers.
. "$(dirname "$0")/lib.bash"
compare_native py -- python3 -c 'x = [i*i for i in range(3_000_000)]; print(sum(x))'
faults_at_least py 5000
consistent py $((3000000 * 8))
grep -q "faults handled" "$T/py.report" || fail "human report lacks the fault section"
