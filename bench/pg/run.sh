#!/usr/bin/env bash
# Benchmark of the PostgreSQL export against its baselines, run by hand (not
# by CI). It loads pgbench_accounts (pgbench -i -s 20: 2M rows) and a wide
# table of its own (1M rows, a column of each type family) into the database
# snapexport_bench, then times, 5 runs each, interleaved:
#
#   a      psql -c "COPY t TO STDOUT (FORMAT binary)" > /dev/null
#   b-gz   snapexport start-export-task to a local directory, GZIP
#   b-sn   the same with Snappy
#   c-gz   psql COPY ... (FORMAT csv) | DuckDB (duckdb-go) writing Parquet, GZIP
#   c-sn   the same with Snappy
#   p-gz, p-sn  with BEFORE_SRC=DIR: b-gz and b-sn by the cmd/snapexport of
#          another tree (e.g. main's), for before/after figures from one run
#
# and prints the medians of wall time, peak RSS (the largest process of the
# command, from /usr/bin/time) and Parquet bytes, with the ratios b/a, b/c
# and bytes b/c, then the bytes of every column (bench/lib.sh summary).
#
# Usage: bash bench/pg/run.sh [--setup-only] [--runs N] [--tables "pgbench_accounts wide"]
# Environment: SNAPEXPORT_PG_URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
# BENCH_DB (default snapexport_bench), PGBENCH_SCALE (default 20), WIDE_ROWS (default 1000000;
# 0 skips the wide table). The 10M-row run: BENCH_DB=snapexport_bench_10m PGBENCH_SCALE=100 WIDE_ROWS=0.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
parse_args "pgbench_accounts wide" "$@"

BASE_URL=${SNAPEXPORT_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
DB=${BENCH_DB:-snapexport_bench}
URL=$(echo "$BASE_URL" | sed -E "s#(//[^/]*/)[^?]*#\1$DB#")
WIDE_ROWS=${WIDE_ROWS:-1000000}
SCALE=${PGBENCH_SCALE:-20}

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing ($2)" >&2; exit 1; }; }
need psql "apt-get install postgresql-client"
need pgbench "apt-get install postgresql-contrib"
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

# --- data -------------------------------------------------------------------
if ! psql "$BASE_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
	psql "$BASE_URL" -qc "CREATE DATABASE $DB"
fi
rows() { psql "$URL" -Atc "SELECT count(*) FROM $1" 2>/dev/null || echo 0; }
if [ "$(rows pgbench_accounts)" != "$((SCALE * 100000))" ]; then
	echo "bench: loading pgbench_accounts (pgbench -i -s $SCALE)" >&2
	pgbench -i -q -s "$SCALE" "$URL" >&2
fi
if [ "$(rows wide)" != "$WIDE_ROWS" ]; then
	echo "bench: loading wide ($WIDE_ROWS rows)" >&2
	psql "$URL" -q -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS wide;
DROP TYPE IF EXISTS bench_mood;
CREATE TYPE bench_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE wide (
	id bigint PRIMARY KEY, i2 smallint, i4 integer, r real, d double precision, b boolean, ba bytea,
	num numeric(14,2), m money, t text, vc varchar(40), ch char(8), dt date, ts timestamp, tstz timestamptz,
	iv interval, tm time, js json, jsb jsonb, u uuid, ip inet, arr integer[], en bench_mood, pt point,
	tsv tsvector, rng int4range);
INSERT INTO wide SELECT g, (g % 30000)::smallint, g::int, g / 3.0, g / 7.0, g % 2 = 0, decode(md5(g::text), 'hex'),
	(g * 1.25)::numeric(14,2), (g % 100000)::money, md5(g::text) || ' é', 'v' || g, 'c' || (g % 1000),
	DATE '2000-01-01' + (g % 9000), TIMESTAMP '2000-01-01' + g * INTERVAL '1 second',
	TIMESTAMPTZ '2000-01-01 00:00+00' + g * INTERVAL '1 minute', g * INTERVAL '1 second', TIME '00:00' + g * INTERVAL '1 ms',
	json_build_object('id', g, 'tag', 'x' || (g % 10)), jsonb_build_object('id', g, 'ok', g % 3 = 0),
	md5(g::text)::uuid, ('10.' || (g % 256) || '.' || (g / 256 % 256) || '.1')::inet, ARRAY[g::int, NULL, 3],
	(ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::bench_mood, point(g, g / 2.0), to_tsvector('simple', 'row ' || g || ' text'),
	int4range(g::int, g::int + 10)
FROM generate_series(1, $WIDE_ROWS) g;
VACUUM ANALYZE wide;
SQL
fi
psql "$URL" -qc "VACUUM ANALYZE pgbench_accounts"
[ "$SETUP_ONLY" = 1 ] && { echo "bench: data loaded in $DB" >&2; exit 0; }

# --- binaries ---------------------------------------------------------------
WORK=$(mktemp -d /tmp/snapexport-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# The CLI, built once (so compile time is not timed) with the PostgreSQL
# driver added through an overlay in case cmd/snapexport does not import it.
printf '{"Replace":{"%s":"%s"}}' "$ROOT/cmd/snapexport/zz_bench_pgsource.go" "$ROOT/bench/pg/overlay/pgsource_driver.go.txt" > "$WORK/overlay.json"
echo "bench: building cmd/snapexport and bench/text2parquet" >&2
go build -overlay "$WORK/overlay.json" -o "$WORK/snapexport" ./cmd/snapexport
go build -o "$WORK/text2parquet" ./bench/text2parquet
if [ -n "${BEFORE_SRC:-}" ]; then
	printf '{"Replace":{"%s":"%s"}}' "$BEFORE_SRC/cmd/snapexport/zz_bench_pgsource.go" "$ROOT/bench/pg/overlay/pgsource_driver.go.txt" > "$WORK/overlay-before.json"
	(cd "$BEFORE_SRC" && go build -overlay "$WORK/overlay-before.json" -o "$WORK/before" ./cmd/snapexport)
	BEFORE=$WORK/before
fi

# --- runs -------------------------------------------------------------------
RESULTS=$WORK/results.tsv
: > "$RESULTS"

declare -A COUNT COLSPEC
# The baseline declares its column types, as a user who knows the table
# would; types follow the RDS mapping (numbers and booleans typed, the rest
# text).
colspec() {
	psql "$URL" -At -c "SELECT '{' || string_agg(quote_literal(attname) || ': ' || quote_literal(
		CASE atttypid::regtype::text
			WHEN 'smallint' THEN 'SMALLINT' WHEN 'integer' THEN 'INTEGER' WHEN 'bigint' THEN 'BIGINT'
			WHEN 'real' THEN 'FLOAT' WHEN 'double precision' THEN 'DOUBLE' WHEN 'boolean' THEN 'BOOLEAN'
			ELSE 'VARCHAR' END), ', ' ORDER BY attnum) || '}'
		FROM pg_attribute WHERE attrelid = '$1'::regclass AND attnum > 0 AND NOT attisdropped"
}
for table in $TABLES; do COUNT[$table]=$(rows "$table"); COLSPEC[$table]=$(colspec "$table"); done
n=0
for run in $(seq 1 "$RUNS"); do
	for table in $TABLES; do
		for method in $(methods); do
			n=$((n + 1))
			case $method in
			a) measure "$table" a sh -c "psql '$URL' -c 'COPY $table TO STDOUT (FORMAT binary)' > /dev/null" ;;
			b-* | p-*)
				codec=gzip; [ "${method#*-}" = sn ] && codec=snappy
				bin=$WORK/snapexport; [ "${method%-*}" = p ] && bin=$BEFORE
				measure "$table" "$method" "$bin" start-export-task --export-task-identifier "bench-$n" \
					--source-arn "$URL" --s3-bucket-name "file://$WORK/out" --export-only "$DB.public.$table" \
					--compression "$codec" --progress none ;;
			c-*)
				codec=gzip; [ "$method" = c-sn ] && codec=snappy
				measure "$table" "$method" sh -c "psql '$URL' -c 'COPY $table TO STDOUT (FORMAT csv, HEADER)' | '$WORK/text2parquet' -format csv -codec $codec -columns \"${COLSPEC[$table]}\" -o '$WORK/out/$table.parquet'" ;;
			esac
		done
	done
done

# --- summary ----------------------------------------------------------------
summary "PostgreSQL $(psql "$URL" -Atc 'SHOW server_version')" "$RUNS" $TABLES
