#!/usr/bin/env bash
# Proof and benchmark of distributed exports (scheduler/riversched), run by
# hand (not by CI). On 127.0.0.1 it creates a scratch source database
# (pgbench -i -s $PGBENCH_SCALE) and a scratch queue database, dropped at
# the end, installs the queue's schema, and then:
#
#   1. reference: one process exports the database (the in-process pool,
#      --concurrency 3) to a directory; verify prints per table the rows,
#      the sum of the key and the bit_xor of the hash of all columns;
#   2. clean: a coordinator (start-export-task --queue) and 3 `snapexport
#      worker` processes export it with small parts; the digest must equal
#      the reference, and every worker must have run parts (from river_job);
#   2b. under pgbench -c 2 -T 60 (TPC-B) load, $LOADED (5) distributed
#      exports: each has sum(abalance) = sum(tbalance) = sum(bbalance);
#   3. kills: $KILLS times, to versitygw (S3), a worker is killed with
#      SIGKILL while it runs a part, at a different moment each time, and a
#      fresh worker replaces it: digest equal to the reference, files
#      present = files listed, no incomplete multipart upload;
#   4. coordinator kill: the coordinator is killed with SIGKILL mid-export
#      (twice), the task goes stale, `start-export-task --resume --queue`
#      finishes it: same checks;
#   5. overhead: $RUNS runs each, interleaved, of the in-process pool (3
#      parts at once) and of the coordinator with 3 workers (1 part each),
#      both to a directory; medians of wall time and their ratio.
#
# Usage: bash bench/riversched/run.sh [--runs N] [--kills N] [--skip-kills]
# Environment: SNAPEXPORT_PG_URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable),
# PGBENCH_SCALE (20), PART_BYTES (--target-part-bytes, default 16 MiB: ~16 parts of pgbench_accounts).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=5
KILLS=5
SKIP_KILLS=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift ;;
	--kills) KILLS=$2; shift ;;
	--skip-kills) SKIP_KILLS=1 ;;
	*) echo "usage: $0 [--runs N] [--kills N] [--skip-kills]" >&2; exit 2 ;;
	esac
	shift
done

BASE_URL=${SNAPEXPORT_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
SCALE=${PGBENCH_SCALE:-20}
PART_BYTES=${PART_BYTES:-16777216}
SUFFIX=$$_$RANDOM
SRC_DB=snapexport_rsb_src_$SUFFIX
Q_DB=snapexport_rsb_q_$SUFFIX
url_of() { echo "$BASE_URL" | sed -E "s#(//[^/]*/)[^?]*#\1$1#"; }
SRC=$(url_of "$SRC_DB")
QUEUE=$(url_of "$Q_DB")
WORK=$(mktemp -d)
PIDS=()

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing ($2)" >&2; exit 1; }; }
need psql "apt-get install postgresql-client"
need pgbench "apt-get install postgresql-contrib"
GW=$(go env GOPATH)/bin/versitygw
[ "$SKIP_KILLS" = 1 ] || [ -x "$GW" ] || { echo "bench: $GW is missing (make tools)" >&2; exit 1; }

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	psql "$BASE_URL" -qc "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" || true
	psql "$BASE_URL" -qc "DROP DATABASE IF EXISTS $Q_DB WITH (FORCE)" || true
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }

go build -o "$WORK/snapexport" ./cmd/snapexport
go build -o "$WORK/verify" ./bench/riversched/verify
BIN=$WORK/snapexport

psql "$BASE_URL" -qc "CREATE DATABASE $SRC_DB"
psql "$BASE_URL" -qc "CREATE DATABASE $Q_DB"
log "loading pgbench -i -s $SCALE into $SRC_DB"
pgbench -i -q -s "$SCALE" "$SRC" >&2
"$BIN" queue migrate --queue "$QUEUE" > /dev/null

COMMON=(--source-arn "$SRC" --progress none --heartbeat-interval 1s --target-part-bytes "$PART_BYTES" --compression snappy)
WORKER_OPTS=(--queue "$QUEUE" --source "$SRC" --heartbeat 1s --rescue-after 3s --stop-grace 5s)

# start_workers SINK N: starts N workers on SINK, named wK, pids in WPID[K].
declare -A WPID
NEXTW=0
start_worker() {
	local sink=$1 id="w$NEXTW"
	NEXTW=$((NEXTW + 1))
	"$BIN" worker "${WORKER_OPTS[@]}" --sink "$sink" --id "$id" 2>> "$WORK/workers.log" &
	WPID[$id]=$!
	PIDS+=($!)
}
stop_workers() {
	for id in "${!WPID[@]}"; do kill -TERM "${WPID[$id]}" 2>/dev/null || true; done
	for id in "${!WPID[@]}"; do wait "${WPID[$id]}" 2>/dev/null || true; unset "WPID[$id]"; done
}
q() { psql "$QUEUE" -Atc "$1"; }
# wait_for WHAT SQL-COUNT N: waits until the query counts at least N (2 min at most).
wait_for() {
	local deadline=$((SECONDS + 120))
	until [ "$(q "$2")" -ge "$3" ]; do
		[ $SECONDS -lt $deadline ] || { log "$1: not reached within 2 minutes"; tail -5 "$WORK/workers.log" >&2; exit 1; }
		sleep 0.1
	done
}

# --- 1. reference -----------------------------------------------------------
"$BIN" start-export-task --export-task-identifier ref --s3-bucket-name "file://$WORK/ref" --concurrency 3 "${COMMON[@]}" > "$WORK/ref.json"
"$WORK/verify" "file://$WORK/ref" ref > "$WORK/ref.digest"
log "reference digest:"; cat "$WORK/ref.digest" >&2

check() { # check SINK ID WHAT
	"$WORK/verify" "$1" "$2" > "$WORK/$2.digest" || { log "$3: verify failed"; exit 1; }
	if ! diff -q "$WORK/ref.digest" "$WORK/$2.digest" > /dev/null; then
		log "$3: the output differs from the reference:"; diff "$WORK/ref.digest" "$WORK/$2.digest" >&2; exit 1
	fi
	log "$3: identical to the reference, files = tables info, nothing abandoned"
}

# --- 2. clean distributed run -----------------------------------------------
for _ in 1 2 3; do start_worker "file://$WORK/dist"; done
"$BIN" start-export-task --export-task-identifier dist --s3-bucket-name "file://$WORK/dist" --queue "$QUEUE" "${COMMON[@]}" > "$WORK/dist.json"
check "file://$WORK/dist" dist "clean distributed run"
log "parts per worker (clean run): $(q "SELECT string_agg(w || '=' || n, ' ' ORDER BY w) FROM (SELECT metadata->'output'->>'worker' w, count(*) n FROM river_job WHERE state = 'completed' AND args->'spec'->>'TaskID' = 'dist' GROUP BY 1) x")"

# --- 2b. under TPC-B load ---------------------------------------------------
# pgbench -c 2 -T 60 runs transactions that move the same amount into an
# account, a teller and a branch; $LOADED distributed exports taken while it
# runs must each show sum(abalance) = sum(tbalance) = sum(bbalance).
pgbench -n -c 2 -T 60 "$SRC" > "$WORK/pgbench.log" 2>&1 &
LOAD=$!
PIDS+=($LOAD)
for l in $(seq 1 "${LOADED:-5}"); do
	"$BIN" start-export-task --export-task-identifier "load$l" --s3-bucket-name "file://$WORK/dist" --queue "$QUEUE" "${COMMON[@]}" > /dev/null
	sums=$("$WORK/verify" -balances "file://$WORK/dist" "load$l")
	read -r a t b <<< "$(echo "$sums" | sed -E 's/[a-z]+=//g')"
	if [ "$a" != "$t" ] || [ "$t" != "$b" ]; then log "export load$l under load is not one snapshot: $sums"; exit 1; fi
	log "export load$l under pgbench load: $sums (equal: one snapshot)"
done
kill "$LOAD" 2>/dev/null || true; wait "$LOAD" 2>/dev/null || true
# The reference is of the data before the load; the later steps compare with
# a new one.
"$BIN" start-export-task --export-task-identifier ref2 --s3-bucket-name "file://$WORK/ref2" --concurrency 3 "${COMMON[@]}" > /dev/null
"$WORK/verify" "file://$WORK/ref2" ref2 > "$WORK/ref.digest"
stop_workers

# --- 3. and 4. kills, to versitygw ------------------------------------------
if [ "$SKIP_KILLS" = 0 ]; then
	export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
	PORT=$((20000 + RANDOM % 20000))
	mkdir -p "$WORK/gw/bench"
	"$GW" --access benchkey --secret benchsecret --region us-east-1 --port "127.0.0.1:$PORT" --quiet posix "$WORK/gw" > /dev/null 2>&1 &
	PIDS+=($!)
	sleep 1
	S3="s3://bench?endpoint=http://127.0.0.1:$PORT&use_path_style=true"
	for i in 1 2 3; do start_worker "$S3"; done
	for k in $(seq 1 "$KILLS"); do
		id=kill$k
		"$BIN" start-export-task --export-task-identifier "$id" --s3-bucket-name "$S3" --queue "$QUEUE" "${COMMON[@]}" > "$WORK/$id.json" 2> "$WORK/$id.err" &
		coord=$!
		PIDS+=($coord)
		# A different moment each time: after the k-th part started.
		wait_for "kill $k" "SELECT count(*) FROM river_job WHERE args->'spec'->>'TaskID' = '$id' AND attempt > 0" "$k"
		victim=$(q "SELECT attempted_by[array_length(attempted_by, 1)] FROM river_job WHERE args->'spec'->>'TaskID' = '$id' AND state = 'running' LIMIT 1")
		if [ -n "$victim" ] && [ -n "${WPID[$victim]:-}" ]; then
			kill -9 "${WPID[$victim]}"
			wait "${WPID[$victim]}" 2>/dev/null || true
			unset "WPID[$victim]"
			log "kill $k: SIGKILL to worker $victim mid-part"
			start_worker "$S3"
		else
			log "kill $k: no part running at that moment"; exit 1
		fi
		wait "$coord" || { log "kill $k: the coordinator failed:"; cat "$WORK/$id.err" >&2; exit 1; }
		check "$S3" "$id" "kill $k"
	done
	for k in 1 2; do
		id=ckill$k
		"$BIN" start-export-task --export-task-identifier "$id" --s3-bucket-name "$S3" --queue "$QUEUE" "${COMMON[@]}" > /dev/null 2>&1 &
		coord=$!
		wait_for "coordinator kill $k" "SELECT count(*) FROM river_job WHERE args->'spec'->>'TaskID' = '$id' AND state = 'completed'" $((2 * k))
		kill -9 "$coord"; wait "$coord" 2>/dev/null || true
		log "coordinator kill $k: SIGKILL to the coordinator mid-export"
		# Stale once no heartbeat came for the lease's duration.
		sleep 6
		"$BIN" start-export-task --export-task-identifier "$id" --s3-bucket-name "$S3" --queue "$QUEUE" --resume "${COMMON[@]}" > "$WORK/$id.json" 2> "$WORK/$id.err" \
			|| { log "coordinator kill $k: --resume failed:"; cat "$WORK/$id.err" >&2; exit 1; }
		check "$S3" "$id" "coordinator kill $k + --resume"
	done
	stop_workers
fi

# --- 5. overhead ------------------------------------------------------------
for _ in 1 2 3; do start_worker "file://$WORK/over"; done
: > "$WORK/times"
for r in $(seq 1 "$RUNS"); do
	# (the workers keep the directory open: it must stay)
	t0=$(now)
	"$BIN" start-export-task --export-task-identifier "pool$r" --s3-bucket-name "file://$WORK/over" --concurrency 3 "${COMMON[@]}" > /dev/null
	t1=$(now)
	"$BIN" start-export-task --export-task-identifier "river$r" --s3-bucket-name "file://$WORK/over" --queue "$QUEUE" "${COMMON[@]}" > /dev/null
	t2=$(now)
	printf 'pool\t%s\nriver\t%s\n' "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" >> "$WORK/times"
	log "run $r: pool $(echo "$t1 - $t0" | bc) s, river $(echo "$t2 - $t1" | bc) s"
done
stop_workers
median() { grep "^$1" "$WORK/times" | cut -f2 | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
P=$(median pool)
R=$(median river)
echo "parts: $(q "SELECT count(*) FROM river_job WHERE args->'spec'->>'TaskID' = 'river1'")"
printf 'median over %d runs: in-process pool %.2f s, coordinator + 3 workers %.2f s, ratio %.2f\n' "$RUNS" "$P" "$R" "$(echo "$R / $P" | bc -l)"
