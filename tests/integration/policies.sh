# Every policy in configs/policies/ runs the real programs of the runtime
# tests with output identical to native, and its report shows the policy at
# work (2 MiB pages, reservations, eager blocks, fallback under fragmentation,
# the heap in hugetlb pool pages).
. "$(dirname "$0")/lib.bash"
gen_text "$T/in.txt" 4
gen_lines "$T/lines" 200000
gen_sql "$T/script.sql"
for cfg in "$ROOT"/configs/policies/*.ini; do
	p=$(basename "$cfg" .ini)
	export VMEMU_OPTS="-c $cfg"
	# 0.9 of 4 GiB still leaves ~400 MiB of 2 MiB blocks: shrink the machine so
	# the 64 MiB touch outgrows what is left and THP faults must fall back
	[[ $p == thp_fragmented ]] && VMEMU_OPTS+=" -s memory.size=512M"
	compare_native "$p-py" -- python3 -c 'd = {i: str(i) for i in range(400_000)}; print(len(d), sum(map(len, d.values())))'
	compare_native "$p-sql" "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
	compare_native "$p-xz" "$T/in.txt" -- xz -6 -T1 -c
	compare_native "$p-sort" "$T/lines" -- sort
	compare_native "$p-touch" -- "$PROGS/touch" 64
done
unset VMEMU_OPTS
m() { json "$T/$1.json" "j['memory']['$2']"; }
(($(m thp_always-touch mapped_2m_bytes) >= 60 << 20)) || fail "thp always: 64 MiB touched, $(m thp_always-touch mapped_2m_bytes) bytes in 2 MiB pages"
(($(m thp_always-touch thp_fault_alloc) >= 30)) || fail "thp always: too few 2 MiB faults"
(($(m thp_madvise-touch mapped_2m_bytes) == 0)) || fail "thp madvise: 2 MiB pages without advice"
(($(m reservethp-touch promotions) >= 30)) || fail "reservethp: $(m reservethp-touch promotions) promotions for 32 full regions"
(($(m reservethp-touch reservations_made) >= 32)) || fail "reservethp: too few reservations"
(($(m eagerpaging-touch eager_faults) >= 1 && $(m eagerpaging-touch eager_blocks) >= 1)) || fail "eagerpaging: no eager fault"
(($(m thp_fragmented-touch thp_fault_fallback) >= 1)) || fail "fragmented: no THP fallback"
# the hugetlb pools back the heap: the 64 MiB touch takes 2 MiB pool pages,
# and the whole first GiB of the heap is one 1 GiB page
h() { json "$T/$1.json" "j['memory']['hugetlb']['$2']['$3']"; }
(($(h hugetlb_2m-touch 2M heap_faults) >= 30)) || fail "hugetlb 2m: $(h hugetlb_2m-touch 2M heap_faults) pool pages for 64 MiB"
(($(h hugetlb_1g-touch 1G heap_faults) == 1)) || fail "hugetlb 1g: the heap did not take the 1 GiB page"
(($(m hugetlb_1g-touch gigantic_pages) == 1)) || fail "hugetlb 1g: no 1 GiB page mapped at exit"
# eager paging reports its physical ranges per VMA; on unfragmented memory the
# heap's eager window is a handful of ranges, not one per page
r=$(json "$T/eagerpaging-touch.json" 'sum(v["phys_ranges"] for v in j["vmas"])')
((r >= 1 && r <= 64)) || fail "eagerpaging: $r physical ranges for 64 MiB"
echo "thp always: $(m thp_always-touch huge_pages) 2 MiB pages; reservethp: $(m reservethp-touch promotions) promotions; eager: $(m eagerpaging-touch eager_blocks) blocks; fragmented: $(m thp_fragmented-touch thp_fault_fallback) fallbacks; hugetlb: $(h hugetlb_2m-touch 2M heap_faults) 2 MiB and $(h hugetlb_1g-touch 1G heap_faults) 1 GiB pool pages"
