# A program with its own SIGSEGV handler: its handler still runs for its own
# faults and the heap stays intact.
. "$(dirname "$0")/lib.bash"
compare_native segv -- "$PROGS/segv"
grep -q "handler 3 ran for the guard page: right address" "$T/segv.vmemu" || fail "handler did not run"
# Under the access samplers (pages taken away and given back by the fault
# handler), the program's own SIGSEGV handler still runs for its own faults
# and sees its own address; the sampled heap stays intact.
M="$ROOT/configs/machines/golden_cove.ini"
for src in protect tlbtrap; do
	VMEMU_OPTS="-c $M -s sampler.source=$src -s sampler.rate=0.5 -s sampler.interval_ms=1" \
		compare_native "segv-$src" -- "$PROGS/segv"
	grep -q "handler 3 ran for the guard page: right address" "$T/segv-$src.vmemu" ||
		fail "$src: the program's handler did not run"
	n=$(json "$T/segv-$src.json" 'j["sampler"]["sources"][0]["samples"]')
	((n > 0)) || fail "$src: no samples taken"
	echo "segv under $src: program handler ran 3 times, $n samples"
done
