# xz -9 compresses 8 MB and decompresses it under vmemu; the compressed
# bytes equal a native compression and the round trip restores the input.
. "$(dirname "$0")/lib.bash"
gen_text "$T/in.txt" 8
compare_native xzc "$T/in.txt" -- xz -9 -T1 -c
# xz -9 uses a 64 MiB dictionary and ~670 MiB of match finder: check the floor
faults_at_least xzc 10000
consistent xzc $((64 << 20))
cp "$T/xzc.native" "$T/in.xz"
compare_native xzd "$T/in.xz" -- xz -d -c
cmp -s "$T/xzd.vmemu" "$T/in.txt" || fail "decompressed output differs from the input"
faults_at_least xzd 1000
