// Command csv2parquet is the baseline a user would reach for instead of
// snapexport: it reads CSV with a header from standard input (psql's
// COPY ... TO STDOUT (FORMAT csv, HEADER)) and writes one Parquet file with
// DuckDB, through github.com/duckdb/duckdb-go, with the codec given.
//
//	psql -c "COPY t TO STDOUT (FORMAT csv, HEADER)" | csv2parquet -codec snappy -o t.parquet
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
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "csv2parquet: -o is required")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "csv2parquet:", err)
		os.Exit(1)
	}
	defer db.Close()
	q := fmt.Sprintf("COPY (SELECT * FROM read_csv('/dev/stdin', header = true)) TO '%s' (FORMAT parquet, COMPRESSION %s)",
		strings.ReplaceAll(*out, "'", "''"), *codec)
	if _, err := db.Exec(q); err != nil {
		fmt.Fprintln(os.Stderr, "csv2parquet:", err)
		os.Exit(1)
	}
}
