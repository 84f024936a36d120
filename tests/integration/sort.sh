# sort of 1M generated lines (numeric and lexical) under vmemu, identical to
# native.
. "$(dirname "$0")/lib.bash"
gen_lines "$T/lines" 1000000
compare_native sortl "$T/lines" -- sort -S 256M
compare_native sortn "$T/lines" -- sort -S 256M -n -k1,1 -r
faults_at_least sortl 1000
consistent sortl $((10 << 20))
