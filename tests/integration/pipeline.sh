# sh -c pipelines: every exec'd process is emulated and writes its own
# report with its pid in the file name; output identical to native.
. "$(dirname "$0")/lib.bash"
compare_native pipe -- sh -c 'seq 1 300000 | sort -r | sort -n | tail -n 3; echo done'
n=$(ls "$T"/pipe.report* | wc -l)
((n >= 4)) || fail "expected reports from sh, seq, sort, sort, tail; found $n"
for r in "$T"/pipe.json*; do
	[[ $(json "$r" 'j["run"]["emulated"]') == True ]] || fail "$r: not emulated"
done
# %p puts the pid where the user wants it
"$VMEMU" run -o "$T/r-%p.txt" -- sh -c 'true' || fail "run with %p failed"
ls "$T"/r-[0-9]*.txt >/dev/null || fail "%p not replaced by the pid"
