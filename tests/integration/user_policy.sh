# A user policy loaded from a shared object (mimicos/policy_api.h): the
# example nextfit policy runs real programs with output identical to native,
# and the report names it and shows its own counters (ABI 2); a policy built
# for ABI 1 still runs. A bad policy path, a .so without the symbol, or one
# built for a newer ABI stops before the program runs (exit 2).
. "$(dirname "$0")/lib.bash"
SO="$ROOT/build/examples/policy_nextfit.so"
[[ -f $SO ]] || fail "example policy not built: $SO"
export VMEMU_OPTS="-s mimicos.policy=$SO"
compare_native up-py -- python3 -c 'x = sorted(str(i) for i in range(300_000)); print(x[:3], len(x))'
compare_native up-touch -- "$PROGS/touch" 64
compare_native up-fork -- "$PROGS/forkheap"
unset VMEMU_OPTS
[[ $(json "$T/up-touch.json" 'j["memory"]["policy"]') == nextfit ]] || fail "report does not name the policy"
faults_at_least up-touch 16384
# its counters (mos_env_counter): every frame came from the cursor or the buddy
c=$(json "$T/up-touch.json" 'j["memory"]["policy_counters"]["contiguous"]')
f=$(json "$T/up-touch.json" 'j["memory"]["policy_counters"]["fallback"]')
((c + f >= 16384 && c > f)) || fail "nextfit counters: contiguous $c, fallback $f"
grep -Eq "^  policy counters +contiguous $c, fallback $f" "$T/up-touch.report" ||
	{ grep -n "policy" "$T/up-touch.report"; fail "the human report lacks the policy's counters"; }
# a policy built for ABI version 1
V1="$ROOT/build/tests/policy_v1.so"
[[ -f $V1 ]] || fail "ABI 1 test policy not built: $V1"
VMEMU_OPTS="-s mimicos.policy=$V1" compare_native up-v1 -- "$PROGS/touch" 16
[[ $(json "$T/up-v1.json" 'j["memory"]["policy"]') == lowfirst ]] || fail "ABI 1 policy not in force"
[[ $(json "$T/up-v1.json" 'j["memory"]["policy_counters"]') == "{}" ]] || fail "ABI 1 policy has counters"
# contiguity-first: the 64 MiB block's frames come out as a few long runs
r=$(json "$T/up-touch.json" 'max(v["phys_ranges"] for v in j["vmas"])')
echo "nextfit: heap physical ranges $r"
marker="$T/ran"
expect2() { # regex, vmemu run args...
	local re=$1; shift
	"$VMEMU" run "$@" -- sh -c "touch $marker" 2>"$T/err"; local rc=$?
	((rc == 2)) || fail "exit $rc for $*"
	grep -Eq "$re" "$T/err" || { cat "$T/err"; fail "message for $* does not match /$re/"; }
	[[ ! -e $marker ]] || fail "the program ran despite $*"
	echo "ok: $(head -1 "$T/err")"
}
expect2 "key 'mimicos.policy': cannot load policy: .*nothere.so" -s mimicos.policy="$T/nothere.so"
expect2 "key 'mimicos.policy': .*does not define the symbol 'vmemu_policy'" -s mimicos.policy="$LIB"
cat >"$T/oldabi.c" <<'C'
#include <mimicos/policy_api.h>
static enum mos_status f(void *s, struct mos_env *e, const struct mos_vma *v, uint64_t a, bool w,
			 struct mos_fault_result *o) { return MOS_ENOMEM; }
static uint64_t fr(void *s, struct mos_env *e, uint64_t a, uint64_t b) { return 0; }
MOS_POLICY_EXPORT const struct mos_policy_ops vmemu_policy = {
	.abi_version = MOS_POLICY_ABI_VERSION + 1, .name = "future", .fault = f, .free_range = fr };
C
cc -shared -fPIC -I"$ROOT/mimicos/include" -o "$T/oldabi.so" "$T/oldabi.c" || fail "cannot build the test policy"
expect2 "key 'mimicos.policy': .*built for policy ABI version 3; this vmemu supports 1 to 2" -s mimicos.policy="$T/oldabi.so"
