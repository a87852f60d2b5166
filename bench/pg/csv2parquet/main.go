// Command csv2parquet is the baseline a user would reach for instead of
// snapexport: it reads CSV with a header from standard input (psql's
// COPY ... TO STDOUT (FORMAT csv, HEADER)) and writes one Parquet file with
// DuckDB, through github.com/duckdb/duckdb-go, with the codec given, then
// prints the number of rows written.
//
//	psql -c "COPY t TO STDOUT (FORMAT csv, HEADER)" |
//		csv2parquet -codec snappy -columns "{'aid': 'INTEGER', ...}" -o t.parquet
//
// The column types are declared (-columns): DuckDB's CSV sniffer cannot
// rewind a pipe, and with auto-detection read_csv('/dev/stdin') lost rows
// (9,665,508 of 10,000,000 for pgbench_accounts) or wrote an empty file,
// seen with duckdb-go v2.10506.0. run.sh checks the count.
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
		fmt.Fprintln(os.Stderr, "csv2parquet: -o and -columns are required")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "csv2parquet:", err)
		os.Exit(1)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('/dev/stdin', auto_detect = false, header = true, delim = ',', quote = '"',
		escape = '"', nullstr = '', columns = %s)) TO '%s' (FORMAT parquet, COMPRESSION %s)`,
		*columns, strings.ReplaceAll(*out, "'", "''"), *codec)
	res, err := db.Exec(q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "csv2parquet:", err)
		os.Exit(1)
	}
	n, err := res.RowsAffected()
	if err != nil {
		fmt.Fprintln(os.Stderr, "csv2parquet:", err)
		os.Exit(1)
	}
	fmt.Printf("rows %d\n", n)
}
