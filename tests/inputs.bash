# Deterministic inputs shared by the integration tests and bench/; source it.

# gen_text FILE MIB: words from a 16-letter alphabet, 16 to a line, seeded:
# compressible like text, identical on every machine.
gen_text() {
	python3 - "$1" "$2" <<'PY'
import random, sys
r = random.Random(1)
words = [bytes(r.choice(b"abcdefghijklmnop") for _ in range(r.randint(2, 9))) for _ in range(4000)]
out = bytearray()
while len(out) < int(sys.argv[2]) << 20:
    out += b" ".join(r.choice(words) for _ in range(16)) + b"\n"
open(sys.argv[1], "wb").write(out)
PY
}

# gen_lines FILE N: N lines "NUMBER WORD", seeded, for sort.
gen_lines() {
	python3 - "$1" "$2" <<'PY'
import random, sys
r = random.Random(2)
with open(sys.argv[1], "w") as f:
    f.write("\n".join("%d %s" % (r.randrange(10**9), r.choice(["alpha","beta","gamma","delta"]))
                      for _ in range(int(sys.argv[2]))) + "\n")
PY
}

# gen_sql FILE: fills and indexes a 200,000-row table, queries it, checks it.
gen_sql() {
	cat >"$1" <<'SQL'
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
}
