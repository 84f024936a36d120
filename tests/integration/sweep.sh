# vmemu sweep runs one program under several configs, checks its output is
# identical under each, and tabulates the reports: with fault_around = 16 the
# same 64 MiB of touches take at most a sixteenth of the faults plus slack.
. "$(dirname "$0")/lib.bash"
printf '[mimicos]\nfault_around = 1\n' >"$T/fa1.ini"
printf '[mimicos]\nfault_around = 16\n' >"$T/fa16.ini"
"$VMEMU" sweep -c "$T/fa1.ini" -c "$T/fa16.ini" --json "$T/sweep.json" -- "$PROGS/touch" 64 \
	>"$T/table" 2>"$T/err" || { cat "$T/err" "$T/table"; fail "sweep failed"; }
cat "$T/table"
grep -q "program output identical under every config: yes" "$T/table" || fail "output not compared"
f1=$(json "$T/sweep.json" 'j["table"]["faults handled"][0]')
f16=$(json "$T/sweep.json" 'j["table"]["faults handled"][1]')
echo "faults: fault_around 1: $f1, fault_around 16: $f16"
((f1 >= 16384 && f16 <= f1 / 16 + 200)) || fail "fault_around did not cut faults ($f1 -> $f16)"
[[ $(json "$T/sweep.json" 'len(j["runs"])') == 2 ]] || fail "JSON lacks the runs"
# a bad config stops the sweep before anything runs
printf '[memory]\nsize = 4Q\n' >"$T/bad.ini"
"$VMEMU" sweep -c "$T/fa1.ini" -c "$T/bad.ini" -- sh -c "touch $T/ran" >/dev/null 2>"$T/err"; rc=$?
[[ ! -e $T/ran ]] || fail "a run started despite a bad config"
((rc == 2)) && grep -q "bad.ini:2: key 'memory.size'" "$T/err" || { cat "$T/err"; fail "bad config: exit $rc"; }
# every run gets the whole stdin (not just the first), and binary output is
# compared byte for byte, past NUL bytes
gen_text "$T/in.txt" 2
"$VMEMU" sweep -c "$T/fa1.ini" -c "$T/fa16.ini" --json "$T/xz.json" -- xz -1 -T1 -c <"$T/in.txt" \
	>"$T/table" 2>"$T/err" || { cat "$T/err" "$T/table"; fail "sweep of xz failed"; }
grep -q "identical under every config: yes" "$T/table" || fail "xz output differed between configs"
for i in 0 1; do
	b=$(json "$T/xz.json" "j['runs'][$i]['report']['faults']['bytes_populated']")
	((b > 2 << 20)) || fail "run $i populated only $b bytes: did it get the input?"
done
"$VMEMU" sweep -c "$T/fa1.ini" -c "$T/fa16.ini" -- sh -c 'printf "x\0%s" "$VMEMU_CONFIG"' \
	>"$T/table" 2>"$T/err"; rc=$?
((rc == 1)) && grep -q "identical under every config: NO" "$T/table" ||
	fail "outputs differing after a NUL byte were taken as identical (exit $rc)"
# bloat: one written byte per 2 MiB region of a 2 MiB-aligned 64 MiB block.
# Baseline maps only the touched pages; THP maps 2 MiB pages of which 511
# subpages are never written.
"$VMEMU" sweep -c "$ROOT/configs/policies/baseline.ini" -c "$ROOT/configs/policies/thp_always.ini" \
	--json "$T/bloat.json" -- "$PROGS/touch" 64 512 >"$T/table" 2>"$T/err" || { cat "$T/err"; fail "bloat sweep"; }
grep "bloat" "$T/table"
b0=$(json "$T/bloat.json" 'j["runs"][0]["report"]["memory"]["bloat_bytes"]')
b1=$(json "$T/bloat.json" 'j["runs"][1]["report"]["memory"]["bloat_bytes"]')
((b0 < 1 << 20)) || fail "baseline bloat $b0 bytes for 32 written pages"
((b1 >= 56 << 20)) || fail "thp bloat only $b1 bytes for 32 written bytes in 2 MiB pages"
