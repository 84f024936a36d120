#!/usr/bin/env bash
# Policies on real workloads: faults per GiB populated and wall time for each
# configs/policies/*.ini, as ratios to baseline, from one `vmemu sweep` per
# workload (runs are sequential, so the machine should be quiet).
# Usage: bench/policies.sh [TEXT_MIB]   (xz -9 input size, default 24)
set -eu
cd "$(dirname "$0")/.."
mib=${1:-24}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
. tests/inputs.bash
gen_text "$w/in.txt" "$mib"
cfgs=()
for c in configs/policies/baseline.ini configs/policies/*.ini; do
	[[ " ${cfgs[*]} " == *" -c $c "* ]] || cfgs+=(-c "$c")
done
run() { # name, command...
	local name=$1; shift
	build/vmemu sweep "${cfgs[@]}" --json "$w/$name.json" -- "$@" >/dev/null 2>"$w/$name.err" <"$w/in.txt" ||
		{ cat "$w/$name.err"; exit 1; }
}
run "xz-9-${mib}MB" xz -9 -T1 -c
run python3-dict /usr/bin/python3 -c 'd = {i: str(i) * 3 for i in range(2_000_000)}; print(len(d))'
python3 - "$w" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    j = json.load(open(f))
    name = os.path.basename(f)[:-5]
    rows = []
    for r in j["runs"]:
        rep = r["report"]
        gib = rep["faults"]["bytes_populated"] / 2**30
        rows.append((os.path.basename(r["config"])[:-4], rep["faults"]["handled"] / gib,
                     rep["run"]["wall_time_ns"] / 1e9, rep["memory"]["mapped_2m_bytes"] / 2**20))
    base = rows[0]
    print(f"{name}: output identical under every policy: {j['output_identical']}")
    print(f"  {'policy':16}{'faults/GiB':>12}{'ratio':>8}{'wall s':>9}{'ratio':>8}{'2M MiB':>9}")
    for p, fpg, wall, m2 in rows:
        print(f"  {p:16}{fpg:>12.0f}{fpg / base[1]:>8.3f}{wall:>9.2f}{wall / base[2]:>8.2f}{m2:>9.0f}")
PY
