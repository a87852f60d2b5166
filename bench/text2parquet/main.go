// Command text2parquet is the baseline a user would reach for instead of
// snapexport: it reads a database client's text output from standard input
// and writes one Parquet file with DuckDB (github.com/duckdb/duckdb-go) with
// the codec given, then prints the number of rows written. bench/pg feeds
// it psql's CSV, bench/mysql the tab-separated output of mysql --batch.
//
//	psql -c "COPY t TO STDOUT (FORMAT csv, HEADER)" |
//		text2parquet -format csv -codec snappy -columns "{'aid': 'INTEGER', ...}" -o t.parquet
//	mysql --batch --quick --binary-as-hex -e 'SELECT * FROM t' db |
//		text2parquet -format tsv -codec snappy -columns "{'id': 'BIGINT', ...}" -o t.parquet
//
// The column types are declared (-columns, a DuckDB struct of name: type):
// DuckDB's CSV sniffer cannot rewind a pipe, and with auto-detection
// read_csv('/dev/stdin') lost rows (9,665,508 of 10,000,000 for
// pgbench_accounts) or wrote an empty file, seen with duckdb-go v2.10506.0.
// The scripts check the count. mysql --batch escapes tabs, newlines and
// backslashes inside values (\t, \n, \\), which DuckDB keeps as they are:
// the baseline is measured for speed, not for fidelity.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

// formats are the read_csv settings of each client's output.
var formats = map[string]string{
	"csv": `delim = ',', quote = '"', escape = '"', nullstr = ''`,    // psql COPY (FORMAT csv, HEADER)
	"tsv": `delim = '\t', quote = '', escape = '', nullstr = 'NULL'`, // mysql --batch
}

func main() {
	out := flag.String("o", "", "Parquet file to write")
	format := flag.String("format", "csv", "input format: csv (psql COPY csv) or tsv (mysql --batch)")
	codec := flag.String("codec", "snappy", "Parquet codec: gzip, snappy, zstd, uncompressed")
	columns := flag.String("columns", "", "column names and DuckDB types, as a DuckDB struct literal: {'id': 'BIGINT', ...}")
	flag.Parse()
	settings, ok := formats[*format]
	if *out == "" || *columns == "" || !ok {
		fmt.Fprintln(os.Stderr, "text2parquet: -o and -columns are required, -format is csv or tsv")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "text2parquet:", err)
		os.Exit(1)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('/dev/stdin', auto_detect = false, header = true, %s, columns = %s))
		TO '%s' (FORMAT parquet, COMPRESSION %s)`, settings, *columns, strings.ReplaceAll(*out, "'", "''"), *codec)
	res, err := db.Exec(q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "text2parquet:", err)
		os.Exit(1)
	}
	n, err := res.RowsAffected()
	if err != nil {
		fmt.Fprintln(os.Stderr, "text2parquet:", err)
		os.Exit(1)
	}
	fmt.Printf("rows %d\n", n)
}
