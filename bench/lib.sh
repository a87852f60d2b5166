# Shared by bench/pg/run.sh and bench/mysql/run.sh (sourced, not run): the
# options, timing of one run and the table of medians. For measure and
# summary the caller sets WORK (a scratch directory), RESULTS (a file), and
# COUNT (an associative array: rows per table), and runs every method with
# its output directory at $WORK/out.
#
# Methods: a (the raw read), b-gz/b-sn (snapexport, GZIP/Snappy), c-gz/c-sn
# (the text dump | DuckDB pipeline) and, when BEFORE names another build of
# cmd/snapexport (e.g. main's), p-gz/p-sn: that build, run interleaved with
# the others so the before/after figures share the machine's state.

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

# methods: the methods of a run, in order.
methods() {
	echo a b-gz b-sn c-gz c-sn
	[ -n "${BEFORE:-}" ] && echo p-gz p-sn
	return 0
}

# colbytes_tool: builds bench/colbytes into $WORK once.
colbytes_tool() {
	[ -x "$WORK/colbytes" ] || go build -o "$WORK/colbytes" ./bench/colbytes
}

# measure TABLE METHOD CMD... : one timed run, "table method seconds rss_kib
# parquet_bytes" appended to $RESULTS. Exports (b-*, p-*) and baselines
# (c-*) must have written every row of the table: DuckDB's CSV sniffer once
# lost rows on a pipe. The first run of each method also keeps the bytes
# of every column ($WORK/colbytes.TABLE.METHOD, see bench/colbytes).
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
	b-* | p-*) written=$(grep -oE '"ExportedRows": ?[0-9]+' "$WORK/stdout" | grep -oE '[0-9]+$' || true) ;;
	c-*) written=$(grep -oE '^rows [0-9]+' "$WORK/stdout" | grep -oE '[0-9]+$' || true) ;;
	esac
	if [ "${method#a}" != "$method" ] || [ "$written" = "${COUNT[$table]}" ]; then
		:
	else
		echo "bench: $method on $table wrote ${written:-?} rows, the table has ${COUNT[$table]}" >&2
		exit 1
	fi
	local bytes
	bytes=$(find "$out" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	if [ "$method" != a ] && [ ! -f "$WORK/colbytes.$table.$method" ]; then
		colbytes_tool
		"$WORK/colbytes" "$out" > "$WORK/colbytes.$table.$method"
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$table" "$method" "$secs" "$rss" "$bytes" >> "$RESULTS"
	printf 'bench: %-17s %-5s %6.2fs %7.1f MiB %11d bytes\n' "$table" "$method" "$secs" "$(echo "$rss / 1024" | bc -l)" "$bytes" >&2
	rm -rf "$out"
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# get TABLE METHOD COLUMN: the median of a column of $RESULTS (3: seconds, 4: RSS KiB, 5: bytes).
get() { awk -F'\t' -v t="$1" -v m="$2" -v c="$3" '$1 == t && $2 == m {print $c}' "$RESULTS" | median; }

# summary SERVER RUNS TABLES...: the Markdown tables of medians: time, peak
# RSS and Parquet bytes per method, with b/a (time against the raw read),
# b/c (time against the DuckDB pipeline) and bytes b/c (against DuckDB's
# file for the same rows and codec); then the bytes of every column.
summary() {
	local server=$1 runs=$2
	shift 2
	echo
	echo "$server, $runs runs each, interleaved; medians. The machine may be shared: compare the ratios of one run."
	echo
	printf '| %-17s | %-6s | %9s | %13s | %12s | %7s | %7s | %11s |\n' table method "time (s)" "peak RSS MiB" "bytes" "b/a" "b/c" "bytes b/c"
	printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------- -------- ----------- --------------- -------------- --------- --------- -------------
	local table method a secs rss bytes ba bc_ bbc c
	for table in "$@"; do
		a=$(get "$table" a 3)
		for method in $(methods); do
			secs=$(get "$table" "$method" 3)
			rss=$(echo "$(get "$table" "$method" 4) / 1024" | bc -l)
			bytes=$(get "$table" "$method" 5)
			ba="" bc_="" bbc=""
			case $method in
			b-* | p-*)
				c=c-${method#*-}
				ba=$(printf '%.2f' "$(echo "$secs / $a" | bc -l)")
				bc_=$(printf '%.2f' "$(echo "$secs / $(get "$table" "$c" 3)" | bc -l)")
				bbc=$(printf '%.2f' "$(echo "$bytes / $(get "$table" "$c" 5)" | bc -l)") ;;
			esac
			[ "$method" = a ] && bytes=""
			printf '| %-17s | %-6s | %9.2f | %13.1f | %12s | %7s | %7s | %11s |\n' "$table" "$method" "$secs" "$rss" \
				"$bytes" "$ba" "$bc_" "$bbc"
		done
	done
	for table in "$@"; do
		echo
		echo "Bytes per column of $table (first run of each method):"
		echo
		local ms=() f
		for method in $(methods); do [ "$method" != a ] && ms+=("$method"); done
		printf '| column |'; printf ' %s |' "${ms[@]}"; echo
		printf '|---|'; printf -- '---|%.0s' "${ms[@]}"; echo
		for f in "$WORK/colbytes.$table.b-gz"; do
			cut -f1 "$f" | while read -r col; do
				printf '| %s |' "$col"
				for method in "${ms[@]}"; do
					printf ' %s |' "$(awk -F'\t' -v c="$col" '$1 == c {print $2}' "$WORK/colbytes.$table.$method" 2>/dev/null)"
				done
				echo
			done
		done
	done
}
