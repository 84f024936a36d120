# Bad configuration: a clear "vmemu: FILE:LINE: key 'x': ..." message and exit
# status 2 before the program runs, through the CLI and through the preload.
. "$(dirname "$0")/lib.bash"
marker="$T/ran"
expect() { # expected-message-regex, vmemu args...
	local re=$1; shift
	rm -f "$marker"
	"$VMEMU" run "$@" -- sh -c "touch $marker" 2>"$T/err"
	local rc=$?
	((rc == 2)) || fail "exit $rc (expected 2) for: $*"
	grep -Eq "$re" "$T/err" || { cat "$T/err"; fail "message for '$*' does not match /$re/"; }
	[[ ! -e $marker ]] || fail "the program ran despite: $*"
	echo "ok: $(head -1 "$T/err")"
}
printf '[memory]\nsize = 1G\n[memroy]\nsize = 2G\n' >"$T/sec.ini"
expect "^vmemu: $T/sec.ini:4: key 'memroy.size': unknown section" -c "$T/sec.ini"
printf '[memory]\nsize = 1G\nsise = 2G\n' >"$T/key.ini"
expect "^vmemu: $T/key.ini:3: key 'memory.sise': unknown key" -c "$T/key.ini"
printf '\n[memory]\nsize = 4X\n' >"$T/num.ini"
expect "^vmemu: $T/num.ini:3: key 'memory.size': bad size '4X'" -c "$T/num.ini"
printf '[mimicos]\npolicy = buddyy\n' >"$T/pol.ini"
expect "^vmemu: $T/pol.ini:2: key 'mimicos.policy': unknown policy 'buddyy' \(one of: baseline" -c "$T/pol.ini"
expect "^vmemu: $T/missing.ini: cannot read: No such file" -c "$T/missing.ini"
printf 'garbage line\n' >"$T/syn.ini"
expect "^vmemu: $T/syn.ini:1: syntax error" -c "$T/syn.ini"
expect "^vmemu: -s memory.size=abc: key 'memory.size': bad size" -s memory.size=abc
expect "^vmemu: -s swap.device=floppy: key 'swap.device': unknown value 'floppy'" -s swap.device=floppy
expect "^vmemu: -s mimicos.fault_around=3: key 'mimicos.fault_around'" -s mimicos.fault_around=3
expect "^vmemu: -s nodot: expected section.key=value" -s nodot
# later files override earlier ones, -s overrides files
printf '[memory]\nsize = 1G\n' >"$T/a.ini"; printf '[memory]\nsize = 2G\n' >"$T/b.ini"
"$VMEMU" run -c "$T/a.ini" -c "$T/b.ini" --json "$T/ab.json" -- true || fail "valid run failed"
[[ $(json "$T/ab.json" 'j["config"]["memory.size"]') == $((2 << 30)) ]] || fail "later file did not override"
"$VMEMU" run -c "$T/b.ini" -s memory.size=512M --json "$T/s.json" -- true || fail "valid run failed"
[[ $(json "$T/s.json" 'j["config"]["memory.size"]') == $((512 << 20)) ]] || fail "-s did not override"
# the preload alone reads VMEMU_CONFIG and stops before main
rm -f "$marker"
VMEMU_CONFIG="$T/num.ini" LD_PRELOAD="$LIB" sh -c "touch $marker" 2>"$T/err"; rc=$?
((rc == 2)) || fail "preload: exit $rc for a bad VMEMU_CONFIG"
grep -q "^vmemu: $T/num.ini:3: key 'memory.size': bad size" "$T/err" || { cat "$T/err"; fail "preload message"; }
[[ ! -e $marker ]] || fail "preload: the program ran despite a bad config"
VMEMU_SET="swap.device=floppy" LD_PRELOAD="$LIB" /bin/true 2>"$T/err"; rc=$?
((rc == 2)) && grep -q "key 'swap.device'" "$T/err" || fail "preload: VMEMU_SET not validated"
