# sqlite3 creates, fills, indexes and queries a database under vmemu; output
# (including PRAGMA integrity_check) identical to a native run.
. "$(dirname "$0")/lib.bash"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
gen_sql "$T/script.sql"
# each run gets a fresh database file in its own working directory
compare_native sql "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
faults_at_least sql 1000
consistent sql $((16 << 20))
