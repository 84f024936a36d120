# sqlite3 creates, fills, indexes and queries a database under vmemu; output
# (including PRAGMA integrity_check) identical to a native run.
. "$(dirname "$0")/lib.bash"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
cat >"$T/script.sql" <<'SQL'
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000)
INSERT INTO t(k, v) SELECT printf('key-%08d', (i * 7919) % 200000), i * i % 1000003 FROM c;
CREATE INDEX tk ON t(k);
SELECT count(*), sum(v), min(k), max(k) FROM t;
SELECT k, v FROM t WHERE k BETWEEN 'key-00100000' AND 'key-00100010' ORDER BY k;
SELECT v % 10 AS d, count(*) FROM t GROUP BY d ORDER BY d;
PRAGMA integrity_check;
SQL
# each run gets a fresh database file in its own working directory
compare_native sql "$T/script.sql" -- sh -c 'rm -f db.sqlite; exec sqlite3 db.sqlite'
faults_at_least sql 1000
consistent sql $((16 << 20))
