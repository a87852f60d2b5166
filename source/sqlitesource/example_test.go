package sqlitesource_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	_ "github.com/snapexport/snapexport/source/sqlitesource" // registers sqlite://
	"github.com/snapexport/snapexport/typemap"
)

// everything is a filter that exports every table.
type everything struct{}

func (everything) Database(string) bool              { return true }
func (everything) Table(string, string, string) bool { return true }

// Example reads an application's database through the sqlite:// scheme:
// one snapshot, its tables with the RDS type mapping, and their rows as the
// Parquet values a writer receives.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlitesource-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "shop.db")

	// The application's database, written with modernc.org/sqlite.
	app, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL, placed DATETIME, paid BOOLEAN)`,
		`INSERT INTO orders VALUES (1, 'ann', 9.5, '2024-05-01 10:00:00', 1), (2, 'bob', NULL, '2024-05-02 11:30:00', 0)`,
	} {
		if _, err := app.Exec(stmt); err != nil {
			log.Fatal(err)
		}
	}
	app.Close()

	src, err := source.OpenURL(ctx, "sqlite://"+path)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	snap, err := src.Snapshot(ctx, source.SnapshotOptions{Workers: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer snap.Close()
	tables, _, err := snap.Tables(ctx, everything{})
	if err != nil {
		log.Fatal(err)
	}
	for _, tb := range tables {
		fmt.Printf("%s (key %s, %d rows)\n", tb.Target(), tb.Key.Column, tb.EstimatedRows)
		req := source.ScanRequest{Table: tb}
		for _, col := range tb.Columns {
			target, err := typemap.RDS().Map(src.Engine(), tb.Target(), col)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("  %-8s %-8s -> %s\n", col.Name, col.ColumnType, target.ExpectedExportedType())
			req.Columns = append(req.Columns, source.ScanColumn{Column: col, Target: target})
		}
		rows, err := snap.Scan(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		var vals []parquet.Value
		for rows.Next() {
			if vals, err = rows.Row(vals[:0]); err != nil {
				log.Fatal(err)
			}
			fmt.Println("  " + format(vals))
		}
		if err := rows.Err(); err != nil {
			log.Fatal(err)
		}
		rows.Close()
	}
	// Output:
	// shop.main.orders (key id, 2 rows)
	//   id       integer  -> int64
	//   customer text     -> binary (UTF8)
	//   total    real     -> double
	//   placed   datetime -> binary (UTF8)
	//   paid     boolean  -> boolean
	//   1 "ann" 9.5 "2024-05-01 10:00:00" true
	//   2 "bob" NULL "2024-05-02 11:30:00" false
}

func format(vals []parquet.Value) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		switch {
		case v.IsNull():
			out[i] = "NULL"
		case v.Kind() == parquet.ByteArray:
			out[i] = fmt.Sprintf("%q", v.ByteArray())
		default:
			out[i] = v.String()
		}
	}
	return strings.Join(out, " ")
}
