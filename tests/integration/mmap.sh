# Large anonymous mmaps are managed: madvise(DONTNEED/FREE), mremap grow
# (moving) and shrink, munmap keep MimicOS in step, data intact.
. "$(dirname "$0")/lib.bash"
compare_native mm -- "$PROGS/mmapops"
[[ $(json "$T/mm.json" 'j["address_space"]["mmaps_managed"]') -ge 1 ]] || fail "mmap not managed"
[[ $(json "$T/mm.json" 'j["address_space"]["mremaps"]') -ge 2 ]] || fail "mremaps not seen"
[[ $(json "$T/mm.json" 'j["address_space"]["madvise_discards"]') -ge 2 ]] || fail "madvise not seen"
unmapped=$(json "$T/mm.json" 'j["memory"]["pages_unmapped"]')
# DONTNEED 2048 pages + FREE 1024 + shrink 32->4 MiB (7168) + munmap 1024
((unmapped >= 2048 + 1024 + 7168 + 1024)) || fail "only $unmapped pages unmapped in MimicOS"
# frames come back: at exit the heap holds little
used=$(json "$T/mm.json" 'j["memory"]["frames_in_use"]')
peak=$(json "$T/mm.json" 'j["memory"]["frames_in_use_peak"]')
((used < peak - 8000)) || fail "frames not freed: in use $used, peak $peak"
