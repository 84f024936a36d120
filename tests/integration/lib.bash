# Shared helpers for integration tests; source it. Each test runs in its own
# temporary directory ($T) that is removed on exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMEMU="$ROOT/build/vmemu"
LIB="$ROOT/build/libvmemu.so"
PROGS="$ROOT/build/progs"
T=$(mktemp -d /tmp/vmemu-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/inputs.bash"

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

# json FILE EXPR: evaluate a Python expression over the JSON report as `j`.
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# compare_native NAME [STDIN-FILE] -- CMD...: run CMD natively and under
# `vmemu run`, compare stdout byte for byte and the exit status; the report
# goes to $T/NAME.report and $T/NAME.json. Extra vmemu options in VMEMU_OPTS.
compare_native() {
	local name=$1 in=/dev/null; shift
	if [[ $1 != -- ]]; then in=$1; shift; fi
	shift # --
	local rc_n rc_v
	(cd "$T" && "$@") <"$in" >"$T/$name.native" 2>"$T/$name.native.err"; rc_n=$?
	(cd "$T" && "$PROGS/maxrss" "$T/$name.rss" "$VMEMU" run ${VMEMU_OPTS:-} -o "$T/$name.report" \
		--json "$T/$name.json" -- "$@") \
		<"$in" >"$T/$name.vmemu" 2>"$T/$name.vmemu.err"; rc_v=$?
	if ! cmp -s "$T/$name.native" "$T/$name.vmemu"; then
		echo "stdout differs for: $*"; diff <(head -c 2000 "$T/$name.native") <(head -c 2000 "$T/$name.vmemu") | head -20
		cat "$T/$name.vmemu.err" | head -20
		fail "$name: output differs from native"
	fi
	((rc_n == rc_v)) || { cat "$T/$name.vmemu.err"; fail "$name: exit $rc_v under vmemu, $rc_n natively"; }
	[[ -s $T/$name.json ]] || { cat "$T/$name.vmemu.err"; fail "$name: no JSON report"; }
	echo "$name: identical stdout ($(wc -c <"$T/$name.native") bytes), exit $rc_n," \
		"$(json "$T/$name.json" 'j["faults"]["handled"]') faults"
}

# faults_at_least NAME N: the report of NAME handled at least N faults and
# populated at least N pages.
faults_at_least() {
	local f p
	f=$(json "$T/$1.json" 'j["faults"]["handled"]')
	p=$(json "$T/$1.json" 'j["faults"]["pages_populated"]')
	((f >= $2 && p >= $2)) || fail "$1: $f faults / $p pages populated, expected >= $2"
	[[ $(json "$T/$1.json" 'j["run"]["emulated"]') == True ]] || fail "$1: not emulated"
}

# consistent NAME MIN_BYTES: the emulated frame peak covers at least the
# MIN_BYTES the program is known to touch, and is no more than the host could
# have backed: peak RSS (measured by maxrss around the vmemu run) plus the
# pages mapped to the shared zero page (not counted in RSS).
consistent() {
	local peak zp rss
	peak=$(json "$T/$1.json" 'j["memory"]["frames_in_use_peak"]')
	zp=$(json "$T/$1.json" 'j["faults"]["zero_fill_zeropage_pages"]')
	rss=$(cat "$T/$1.rss")
	((peak * 4096 >= $2)) || fail "$1: frame peak $peak pages < $2 bytes the program touches"
	((peak * 4 <= rss + zp * 4 + 4096)) ||
		fail "$1: frame peak $((peak * 4)) KiB > host peak RSS $rss KiB + zero pages $((zp * 4)) KiB"
	echo "$1: frames peak $((peak * 4)) KiB; host peak RSS $rss KiB; zero-page $((zp * 4)) KiB"
}

# accounted NAME: the JSON report's sampler figures add up (every source ran,
# every record pushed was modeled or its page was gone, estimates scaled).
accounted() {
	python3 - "$T/$1.json" "$1" <<'PY' || fail "$1: sampler accounting"
import json, sys
j = json.load(open(sys.argv[1])); n = sys.argv[2]; s = j["sampler"]; r = s["ring"]
def check(c, what):
    if not c:
        print("%s: %s" % (n, what)); print(json.dumps(s, indent=1)); sys.exit(1)
check(r["pushed"] == r["consumed"], "ring: %d pushed, %d consumed" % (r["pushed"], r["consumed"]))
# protect's records go through the ring only when a trace is recorded
ringed = [x for x in s["sources"] if x["name"] != "protect" or "record" in s]
check(sum(x["samples"] for x in ringed) == r["pushed"], "samples per source do not add up to the ring")
check(sum(x["dropped"] for x in ringed) == r["dropped"], "drops per source do not add up")
check(s["restore_errors"] == 0, "restore errors")
for x in s["sources"]:
    check(x["ran"], "%s did not run: %s" % (x["name"], x["note"]))
    check(x["samples"] > 0, "%s: no samples" % x["name"])
    # protect's records are modeled by the handler before the ring (a full
    # ring loses only their trace record); the others after it
    seen = x["samples"] + (x["dropped"] if x["name"] == "protect" else 0)
    check(x["modeled"] + x["untranslated"] == seen, "%s: modeled + untranslated != %d" % (x["name"], seen))
    check(x["model"]["accesses"] == x["modeled"], "%s: model saw %d, %d modeled" % (x["name"], x["model"]["accesses"], x["modeled"]))
    # each modeled record counts for its weight: the estimate lies between
    # the model's count times the smallest and the largest weight (equal for
    # a fixed weight), times the ring-drop correction
    d = 1 if x["name"] == "protect" else (x["samples"] + x["dropped"]) / x["samples"]
    est, mod = x["estimated"]["walks"], x["model"]["walks"]
    lo, hi = d * x["weight_min"] * mod, d * x["weight_max"] * mod
    if x["name"] == "tlbtrap":
        # a trap is a miss of the emulated last-level TLB (the machine's
        # geometry): each record is one STLB miss (its page unmapped since
        # or not), and each modeled one a walk unless the model's prefetch
        # queue served it, whatever the model's TLBs say: walks lie between
        # the model's and the modeled records'
        # (set sampling: every record has the same weight, sets / sets emulated)
        w = x["weight_max"]
        check(abs(w - x["weight_min"]) <= 1e-6 * w and abs(w - x["tlb_sets"] / x["tlb_sets_sampled"]) <= 1e-6 * w,
              "tlbtrap: weights %g..%g for %d of %d sets" % (x["weight_min"], w, x["tlb_sets_sampled"], x["tlb_sets"]))
        sm = x["estimated"]["stlb_misses"]
        check(abs(sm - d * w * x["samples"]) <= 1e-6 * sm + 1e-6, "tlbtrap: %g STLB misses for %d records" % (sm, x["samples"]))
        lo, hi = d * w * mod, d * w * x["modeled"]
    check(lo * (1 - 1e-6) - 1e-6 <= est <= hi * (1 + 1e-6) + 1e-6, "%s: estimate %g outside [%g, %g]" % (x["name"], est, lo, hi))
    check(x["weight_min"] >= 1 - 1e-6, "%s: a weight below 1" % x["name"])
    print("%s/%s: %d samples, %d modeled, %d dropped, est. %.0f STLB misses" % (n, x["name"], x["samples"], x["modeled"], x["dropped"], x["estimated"]["stlb_misses"]))
PY
}
