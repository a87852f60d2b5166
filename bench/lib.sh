# Shared by bench/pg/run.sh and bench/mysql/run.sh (sourced, not run): the
# options, timing of one run and the table of medians. For measure and
# summary the caller sets WORK (a scratch directory), RESULTS (a file), and
# COUNT (an associative array: rows per table), and runs every method with
# its output directory at $WORK/out.

# parse_args DEFAULT_TABLES ARGS...: sets RUNS, TABLES and SETUP_ONLY from
# [--setup-only] [--runs N] [--tables LIST].
parse_args() {
	TABLES=$1
	shift
	RUNS=5
	SETUP_ONLY=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--setup-only) SETUP_ONLY=1 ;;
		--runs) RUNS=$2; shift ;;
		--tables) TABLES=$2; shift ;;
		*) echo "usage: $0 [--setup-only] [--runs N] [--tables LIST]" >&2; exit 2 ;;
		esac
		shift
	done
}

# measure TABLE METHOD CMD... : one timed run, "table method seconds rss_kib"
# appended to $RESULTS. Exports (b-*) and baselines (c-*) must have written
# every row of the table: DuckDB's CSV sniffer once lost rows on a pipe.
measure() {
	local table=$1 method=$2
	shift 2
	local out=$WORK/out
	rm -rf "$out"
	mkdir -p "$out"
	if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/stdout" 2> "$WORK/stderr"; then
		echo "bench: $method on $table failed:" >&2
		cat "$WORK/stderr" >&2
		exit 1
	fi
	read -r secs rss < "$WORK/time"
	local written=""
	case $method in
	b-*) written=$(grep -oE '"ExportedRows": ?[0-9]+' "$WORK/stdout" | grep -oE '[0-9]+$' || true) ;;
	c-*) written=$(grep -oE '^rows [0-9]+' "$WORK/stdout" | grep -oE '[0-9]+$' || true) ;;
	esac
	if [ "${method#a}" != "$method" ] || [ "$written" = "${COUNT[$table]}" ]; then
		:
	else
		echo "bench: $method on $table wrote ${written:-?} rows, the table has ${COUNT[$table]}" >&2
		exit 1
	fi
	printf '%s\t%s\t%s\t%s\n' "$table" "$method" "$secs" "$rss" >> "$RESULTS"
	printf 'bench: %-17s %-5s %6.2fs %7.1f MiB\n' "$table" "$method" "$secs" "$(echo "$rss / 1024" | bc -l)" >&2
	rm -rf "$out"
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# get TABLE METHOD COLUMN: the median of a column of $RESULTS (3: seconds, 4: RSS KiB).
get() { awk -F'\t' -v t="$1" -v m="$2" -v c="$3" '$1 == t && $2 == m {print $c}' "$RESULTS" | median; }

# summary SERVER RUNS TABLES...: the Markdown table of medians, with b/a and
# b/c for the exports.
summary() {
	local server=$1 runs=$2
	shift 2
	echo
	echo "$server, $runs runs each, interleaved; medians."
	echo
	printf '| %-17s | %-6s | %9s | %13s | %7s | %7s |\n' table method "time (s)" "peak RSS MiB" "b/a" "b/c"
	printf '|%s|%s|%s|%s|%s|%s|\n' ------------------- -------- ----------- --------------- --------- ---------
	local table method a secs rss ba bc_
	for table in "$@"; do
		a=$(get "$table" a 3)
		for method in a b-gz b-sn c-gz c-sn; do
			secs=$(get "$table" "$method" 3)
			rss=$(echo "$(get "$table" "$method" 4) / 1024" | bc -l)
			ba="" bc_=""
			case $method in
			b-gz) ba=$(echo "$secs / $a" | bc -l); bc_=$(echo "$secs / $(get "$table" c-gz 3)" | bc -l) ;;
			b-sn) ba=$(echo "$secs / $a" | bc -l); bc_=$(echo "$secs / $(get "$table" c-sn 3)" | bc -l) ;;
			esac
			printf '| %-17s | %-6s | %9.2f | %13.1f | %7s | %7s |\n' "$table" "$method" "$secs" "$rss" \
				"$( [ -n "$ba" ] && printf '%.2f' "$ba")" "$( [ -n "$bc_" ] && printf '%.2f' "$bc_")"
		done
	done
}
