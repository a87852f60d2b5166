// Command tsv2parquet is the baseline a user would reach for instead of
// snapexport: it reads the tab-separated output of mysql --batch --quick
// --binary-as-hex (a header line, NULL for NULL) from standard input and
// writes one Parquet file with DuckDB, through github.com/duckdb/duckdb-go,
// with the codec given, then prints the number of rows written.
//
//	mysql --batch --quick --binary-as-hex -e 'SELECT * FROM t' db |
//		tsv2parquet -codec snappy -columns "{'id': 'BIGINT', 'v': 'VARCHAR'}" -o t.parquet
//
// The column types are given (-columns, a DuckDB struct of name: type):
// DuckDB's CSV sniffer cannot rewind a pipe, and read_csv('/dev/stdin')
// with auto-detection writes an empty file when stdin is a pipe (seen with
// duckdb-go v2.10506.0), so the baseline declares its schema as a user who
// knows it would. mysql --batch escapes tabs, newlines and backslashes
// inside values (\t, \n, \\), which DuckDB keeps as they are: the baseline
// is measured for speed, not for fidelity.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	out := flag.String("o", "", "Parquet file to write")
	codec := flag.String("codec", "snappy", "Parquet codec: gzip, snappy, zstd, uncompressed")
	columns := flag.String("columns", "", "column names and DuckDB types, as a DuckDB struct literal: {'id': 'BIGINT', ...}")
	flag.Parse()
	if *out == "" || *columns == "" {
		fmt.Fprintln(os.Stderr, "tsv2parquet: -o and -columns are required")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsv2parquet:", err)
		os.Exit(1)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('/dev/stdin', auto_detect = false, header = true, delim = '\t',
		quote = '', escape = '', nullstr = 'NULL', columns = %s)) TO '%s' (FORMAT parquet, COMPRESSION %s)`,
		*columns, strings.ReplaceAll(*out, "'", "''"), *codec)
	res, err := db.Exec(q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsv2parquet:", err)
		os.Exit(1)
	}
	n, err := res.RowsAffected()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsv2parquet:", err)
		os.Exit(1)
	}
	fmt.Printf("rows %d\n", n)
}
