#!/usr/bin/env bash
# Runs every unit test (build/tests/test_*, cmocka) and every integration test
# (tests/integration/*.sh), one line per test, and ends with the line
# "N passed, N failed" (", N skipped" when some were). Integration tests exit
# 0 (pass), 77 (skip, with the reason as last line of output) or anything
# else (fail); a failing test's output is shown.
# Usage: tests/run.sh [NAME-FILTER]
set -u
cd "$(dirname "$0")/.."
filter=${1:-}
pass=0 fail=0 skip=0 failed=()
logdir=$(mktemp -d /tmp/vmemu-tests.XXXXXX)

run_one() { # name, command...
	local name=$1; shift
	[[ -n $filter && $name != *$filter* ]] && return
	local log="$logdir/${name//\//_}.log" start=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$? took=$((SECONDS - start))
	if ((rc == 0)); then
		pass=$((pass + 1)); printf 'ok    %-40s %3ds\n' "$name" "$took"
	elif ((rc == 77)); then
		skip=$((skip + 1)); printf 'skip  %-40s %s\n' "$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL  %-40s %3ds (exit %d)\n' "$name" "$took" "$rc"
		sed 's/^/      | /' "$log" | tail -n 40
	fi
}

for t in build/tests/test_*; do
	[[ -x $t ]] && run_one "unit/${t##*/}" "$t"
done
for t in tests/integration/*.sh; do
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done

((fail)) && echo "failed: ${failed[*]} (logs in $logdir)"
if ((skip)); then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
((fail == 0))
