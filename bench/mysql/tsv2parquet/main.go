// Command tsv2parquet is the baseline a user would reach for instead of
// snapexport: it reads the tab-separated output of mysql --batch --quick
// (a header line, NULL for NULL) from standard input and writes one Parquet
// file with DuckDB, through github.com/duckdb/duckdb-go, with the codec
// given.
//
//	mysql --batch --quick -e 'SELECT * FROM t' db | tsv2parquet -codec snappy -o t.parquet
//
// mysql --batch escapes tabs, newlines and backslashes inside values (\t,
// \n, \\), which DuckDB's CSV reader keeps as they are: the baseline is
// measured for speed, not for fidelity.
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
		fmt.Fprintln(os.Stderr, "tsv2parquet: -o is required")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsv2parquet:", err)
		os.Exit(1)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('/dev/stdin', header = true, delim = '\t', quote = '', escape = '', nullstr = 'NULL'))
		TO '%s' (FORMAT parquet, COMPRESSION %s)`, strings.ReplaceAll(*out, "'", "''"), *codec)
	if _, err := db.Exec(q); err != nil {
		fmt.Fprintln(os.Stderr, "tsv2parquet:", err)
		os.Exit(1)
	}
}
