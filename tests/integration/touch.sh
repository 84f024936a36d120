# A program that touches exactly 64 MiB (16384 pages) of malloc'd memory:
# the emulator must see at least those faults, and not many more (the rest
# is the allocator's and libc's own start-up memory).
. "$(dirname "$0")/lib.bash"
compare_native touch -- "$PROGS/touch" 64
f=$(json "$T/touch.json" 'j["faults"]["handled"]')
((f >= 16384 && f <= 16384 + 1024)) || fail "touch: $f faults for 16384 touched pages"
w=$(json "$T/touch.json" 'j["faults"]["write"]')
((w >= 16384)) || fail "touch: only $w write faults for 16384 written pages"
consistent touch $((64 << 20))
