# thp mode madvise honours the program's madvise(MADV_HUGEPAGE): a region
# advised before it is touched gets 2 MiB pages at fault time; one advised
# after it was touched with 4 KiB pages is collapsed by the khugepaged-like
# scan. Where the host allows it, emulated 2 MiB pages get real THPs.
. "$(dirname "$0")/lib.bash"
VMEMU_OPTS="-c $ROOT/configs/policies/thp_madvise.ini -s thp.scan_interval_ms=20" \
	compare_native adv -- "$PROGS/thpadvise"
m() { json "$T/adv.json" "j['memory']['$1']"; }
(($(m thp_fault_alloc) == 16)) || fail "expected 16 2 MiB faults in the 32 MiB advised region, got $(m thp_fault_alloc)"
(($(m scan_collapses) >= 8)) || fail "the scan collapsed $(m scan_collapses) of the 8 regions advised after touching"
(($(m mapped_2m_bytes) >= 48 << 20)) || fail "only $(m mapped_2m_bytes) bytes in 2 MiB pages"
q=$(json "$T/adv.json" 'j["host_thp"]["queued"]'); c=$(json "$T/adv.json" 'j["host_thp"]["collapsed"]')
echo "host THP backing: $c of $q collapsed"
if ! grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
	((c >= 1)) || fail "no emulated 2 MiB page got a real THP (queued $q)"
fi
