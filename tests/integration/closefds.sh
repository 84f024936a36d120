# A program that closes every descriptor (vmemu's userfaultfd too) keeps
# working natively, and the report says when and why emulation stopped.
. "$(dirname "$0")/lib.bash"
compare_native cf -- "$PROGS/closefds"
json "$T/cf.json" 'j["run"]["emulation_stopped"]' | grep -q "closed vmemu's userfaultfd" ||
	fail "report does not say emulation stopped"
grep -q "EMULATION STOPPED" "$T/cf.report" || fail "human report does not say emulation stopped"
