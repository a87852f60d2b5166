#!/usr/bin/env bash
# Benchmark of the MySQL/MariaDB export against its baselines, run by hand
# (not by CI). It loads sbtest1 (sysbench oltp_read_only --tables=1
# --table-size=2000000 prepare), pgbench_accounts' 2M rows and a wide table
# of its own (1M rows, a column of each type family of reference §10.1) into the database
# snapexport_bench, then times, 5 runs each, interleaved:
#
#   a      mysql --quick -e 'SELECT * FROM t' > /dev/null
#   b-gz   snapexport start-export-task to a local directory, GZIP
#   b-sn   the same with Snappy
#   c-gz   mysql --batch --quick --binary-as-hex -e 'SELECT * FROM t' | DuckDB (duckdb-go)
#          writing Parquet, GZIP (bench/text2parquet; column types declared from the
#          catalog, because DuckDB's CSV sniffer writes an empty file when reading a pipe)
#   c-sn   the same with Snappy
#   p-gz, p-sn  with BEFORE_SRC=DIR: b-gz and b-sn by the cmd/snapexport of
#          another tree (e.g. main's), for before/after figures from one run
#
# Every run is checked: b, p and c must have written every row of the
# table. It prints the medians of wall time, peak RSS (the largest process
# of the command, from /usr/bin/time) and Parquet bytes, with the ratios
# b/a, b/c and bytes b/c, then the bytes of every column (bench/lib.sh).
#
# Usage: bash bench/mysql/run.sh [--setup-only] [--runs N] [--tables "sbtest1 pgbench_accounts wide"]
# Environment: SNAPEXPORT_MYSQL_URL (default mysql://root@127.0.0.1:3306/test);
# the account needs CREATE on snapexport_bench. sysbench is installed with
# apt-get when missing.
# BENCH_DB (default snapexport_bench), SYSBENCH_TABLE_SIZE (default 2000000), PGBENCH_ROWS (default
# 2000000: pgbench_accounts' rows, generated in InnoDB), WIDE_ROWS (default 1000000; 0 skips the wide table). The 10M-row run: BENCH_DB=snapexport_bench_10m
# SYSBENCH_TABLE_SIZE=10000000 WIDE_ROWS=0.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
parse_args "sbtest1 pgbench_accounts wide" "$@"

BASE_URL=${SNAPEXPORT_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
DB=${BENCH_DB:-snapexport_bench}
SIZE=${SYSBENCH_TABLE_SIZE:-2000000}
WIDE_ROWS=${WIDE_ROWS:-1000000}
PGBENCH_ROWS=${PGBENCH_ROWS:-2000000}
# mysql://user[:password]@host[:port]/... → client options
rest=${BASE_URL#*://}
userinfo=""
case $rest in *@*) userinfo=${rest%%@*}; rest=${rest#*@} ;; esac
hostport=${rest%%[/?]*}
MY_USER=${userinfo%%:*}
MY_PASS=""
case $userinfo in *:*) MY_PASS=${userinfo#*:} ;; esac
MY_HOST=${hostport%%:*}
MY_PORT=3306
case $hostport in *:*) MY_PORT=${hostport#*:} ;; esac
URL="mysql://$userinfo@$hostport/$DB"
export MYSQL_PWD=$MY_PASS
MYSQL=(mysql --host="$MY_HOST" --port="$MY_PORT" --user="${MY_USER:-root}" --protocol=tcp)

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing ($2)" >&2; exit 1; }; }
need mysql "apt-get install mariadb-client"
need bc "apt-get install bc"
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
if ! command -v sysbench >/dev/null; then
	echo "bench: installing sysbench" >&2
	apt-get install -y sysbench >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y sysbench >/dev/null; }
fi

# --- data -------------------------------------------------------------------
"${MYSQL[@]}" -e "CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4"
rows() { "${MYSQL[@]}" -N -e "SELECT COUNT(*) FROM $DB.$1" 2>/dev/null || echo 0; }
if [ "$(rows sbtest1)" != "$SIZE" ]; then
	echo "bench: loading sbtest1 (sysbench oltp_read_only --tables=1 --table-size=$SIZE prepare)" >&2
	"${MYSQL[@]}" -e "DROP TABLE IF EXISTS $DB.sbtest1"
	sysbench oltp_read_only --db-driver=mysql --mysql-host="$MY_HOST" --mysql-port="$MY_PORT" \
		--mysql-user="${MY_USER:-root}" --mysql-password="$MY_PASS" --mysql-db="$DB" \
		--tables=1 --table-size="$SIZE" prepare >&2
fi
if [ "$(rows pgbench_accounts)" != "$PGBENCH_ROWS" ]; then
	# The rows pgbench -i writes (aid, bid = one branch per 100000, zero
	# balance, blank filler), in InnoDB.
	echo "bench: loading pgbench_accounts ($PGBENCH_ROWS rows)" >&2
	"${MYSQL[@]}" "$DB" <<SQL
DROP TABLE IF EXISTS pgbench_accounts, digits;
CREATE TABLE digits (d INT NOT NULL PRIMARY KEY);
INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
CREATE TABLE pgbench_accounts (aid INT NOT NULL PRIMARY KEY, bid INT, abalance INT, filler CHAR(84)) ENGINE=InnoDB;
INSERT INTO pgbench_accounts
SELECT n, (n - 1) DIV 100000 + 1, 0, ''
FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1000000 * h.d + 1 AS n
	FROM digits a, digits b, digits c, digits e, digits f, digits g, digits h) s
WHERE n <= $PGBENCH_ROWS ORDER BY n;
DROP TABLE digits;
ANALYZE TABLE pgbench_accounts;
SQL
fi
if [ "$(rows wide)" != "$WIDE_ROWS" ]; then
	echo "bench: loading wide ($WIDE_ROWS rows)" >&2
	"${MYSQL[@]}" "$DB" <<SQL
DROP TABLE IF EXISTS wide, digits;
CREATE TABLE digits (d INT NOT NULL PRIMARY KEY);
INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
CREATE TABLE wide (
	id BIGINT NOT NULL PRIMARY KEY, ti TINYINT UNSIGNED, si SMALLINT, i INT, iu INT UNSIGNED, bi BIGINT,
	biu BIGINT UNSIGNED, d DECIMAL(12,2), d30 DECIMAL(30,6), f FLOAT, db DOUBLE, b BIT(8),
	dt DATE, tm TIME, dtm DATETIME(6), ts TIMESTAMP NULL, yr YEAR, ch CHAR(8), vc VARCHAR(40),
	vb VARBINARY(16), tx TEXT, bl BLOB, en ENUM('sad','ok','happy'), st SET('a','b','c'), js JSON, pt POINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO wide
SELECT n, n % 256, n % 30000 - 15000, n, n * 3, n * 1000003, 18446744073709551615 - n, n * 1.25, n * 1000000.125,
	n / 3, n / 7, n % 256, DATE '2000-01-01' + INTERVAL (n % 9000) DAY, SEC_TO_TIME(n % 86400),
	TIMESTAMP '2000-01-01 00:00:00' + INTERVAL n SECOND, TIMESTAMP '2000-01-01 00:00:00' + INTERVAL n MINUTE,
	1901 + n % 255, CONCAT('c', n % 1000), CONCAT('v', n, ' é'), UNHEX(MD5(n)), CONCAT(MD5(n), ' text'),
	UNHEX(SHA1(n)), ELT(n % 3 + 1, 'sad', 'ok', 'happy'), ELT(n % 4 + 1, 'a', 'a,b', 'b,c', ''),
	JSON_OBJECT('id', n, 'tag', CONCAT('x', n % 10)), POINT(n, n / 2)
FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1 AS n
	FROM digits a, digits b, digits c, digits e, digits f, digits g) s
WHERE n <= $WIDE_ROWS;
DROP TABLE digits;
ANALYZE TABLE wide;
SQL
fi
[ "$SETUP_ONLY" = 1 ] && { echo "bench: data loaded in $DB" >&2; exit 0; }

# --- binaries ---------------------------------------------------------------
WORK=$(mktemp -d /tmp/snapexport-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "bench: building cmd/snapexport and bench/text2parquet" >&2
go build -o "$WORK/snapexport" ./cmd/snapexport
go build -o "$WORK/text2parquet" ./bench/text2parquet
if [ -n "${BEFORE_SRC:-}" ]; then
	(cd "$BEFORE_SRC" && go build -o "$WORK/before" ./cmd/snapexport)
	BEFORE=$WORK/before
fi

# --- runs -------------------------------------------------------------------
RESULTS=$WORK/results.tsv
: > "$RESULTS"

# DuckDB column types of a table, from the catalog, as a DuckDB struct literal.
colspec() {
	"${MYSQL[@]}" -N <<SQL
SELECT CONCAT('{', GROUP_CONCAT(CONCAT('''', COLUMN_NAME, ''': ''',
	CASE
		WHEN DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint') THEN
			CONCAT(IF(COLUMN_TYPE LIKE '%unsigned%', 'U', ''),
				ELT(FIELD(DATA_TYPE, 'tinyint', 'smallint', 'mediumint', 'int', 'bigint'), 'TINYINT', 'SMALLINT', 'INTEGER', 'INTEGER', 'BIGINT'))
		WHEN DATA_TYPE = 'decimal' AND NUMERIC_PRECISION <= 38 THEN CONCAT('DECIMAL(', NUMERIC_PRECISION, ',', NUMERIC_SCALE, ')')
		WHEN DATA_TYPE = 'float' THEN 'FLOAT'
		WHEN DATA_TYPE = 'double' THEN 'DOUBLE'
		WHEN DATA_TYPE = 'date' THEN 'DATE'
		WHEN DATA_TYPE IN ('datetime', 'timestamp') THEN 'TIMESTAMP'
		WHEN DATA_TYPE = 'year' THEN 'SMALLINT'
		ELSE 'VARCHAR'
	END, '''') ORDER BY ORDINAL_POSITION SEPARATOR ', '), '}')
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = '$1'
SQL
}

declare -A COUNT SPEC
for table in $TABLES; do
	COUNT[$table]=$(rows "$table")
	SPEC[$table]=$(colspec "$table")
done
CLIENT="${MYSQL[*]}"
n=0
for run in $(seq 1 "$RUNS"); do
	for table in $TABLES; do
		for method in $(methods); do
			n=$((n + 1))
			case $method in
			a) measure "$table" a sh -c "$CLIENT --quick -e 'SELECT * FROM $table' $DB > /dev/null" ;;
			b-* | p-*)
				codec=gzip; [ "${method#*-}" = sn ] && codec=snappy
				bin=$WORK/snapexport; [ "${method%-*}" = p ] && bin=$BEFORE
				measure "$table" "$method" "$bin" start-export-task --export-task-identifier "bench-$n" \
					--source-arn "$URL" --s3-bucket-name "file://$WORK/out" --export-only "$DB.$table" \
					--compression "$codec" --progress none ;;
			c-*)
				codec=gzip; [ "$method" = c-sn ] && codec=snappy
				export COLSPEC=${SPEC[$table]}
				measure "$table" "$method" sh -c "$CLIENT --batch --quick --binary-as-hex -e 'SELECT * FROM $table' $DB | '$WORK/text2parquet' -format tsv -codec $codec -columns \"\$COLSPEC\" -o '$WORK/out/$table.parquet'" ;;
			esac
		done
	done
done

# --- summary ----------------------------------------------------------------
summary "$("${MYSQL[@]}" -N -e 'SELECT VERSION()')" "$RUNS" $TABLES
