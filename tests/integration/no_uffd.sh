# When userfaultfd is refused (unprivileged user, vm.unprivileged_userfaultfd
# = 0, /dev/userfaultfd not accessible): one clear message and exit 2 before
# main; with runtime.fallback = native the program runs natively and the
# report says it was not emulated.
. "$(dirname "$0")/lib.bash"
[[ $(id -u) == 0 ]] || skip "needs root to run a program as an unprivileged user"
[[ $(cat /proc/sys/vm/unprivileged_userfaultfd) == 0 ]] || skip "vm.unprivileged_userfaultfd is 1 here"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
[[ -r /dev/userfaultfd ]] && perm=$(stat -c %a /dev/userfaultfd) && [[ $perm == 600 ]] ||
	skip "/dev/userfaultfd is not root-only here"
chmod 755 "$T"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody "$VMEMU" run -- "$PROGS/touch" 1 >"$T/out" 2>"$T/err"; rc=$?
((rc == 2)) || { cat "$T/err"; fail "exit $rc, expected 2"; }
grep -q "^vmemu: userfaultfd is not available.*vm.unprivileged_userfaultfd=1" "$T/err" || { cat "$T/err"; fail "unclear message"; }
[[ ! -s $T/out ]] || fail "the program ran"
as_nobody "$VMEMU" run -s runtime.fallback=native -- "$PROGS/touch" 1 >"$T/out" 2>"$T/err"; rc=$?
((rc == 0)) || { cat "$T/err"; fail "fallback=native: exit $rc"; }
grep -q "touched 256 pages" "$T/out" || fail "fallback=native: program output missing"
grep -q "NOT EMULATED" "$T/err" || { cat "$T/err"; fail "report does not say it was not emulated"; }
