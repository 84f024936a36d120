# sort of 1M generated lines (numeric and lexical) under vmemu, identical to
# native.
. "$(dirname "$0")/lib.bash"
python3 -c '
import random
r = random.Random(2)
print("\n".join("%d %s" % (r.randrange(10**9), r.choice(["alpha","beta","gamma","delta"])) for _ in range(1000000)))' >"$T/lines"
compare_native sortl "$T/lines" -- sort -S 256M
compare_native sortn "$T/lines" -- sort -S 256M -n -k1,1 -r
faults_at_least sortl 1000
consistent sortl $((10 << 20))
