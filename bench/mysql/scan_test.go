// Package mysql benchmarks reading MySQL/MariaDB: mysqlsource's scan into
// parquet.Value rows (the RDS mapping) against plain database/sql scanning
// of the same SELECT into sql.RawBytes, the floor for any reader on
// go-sql-driver/mysql's text protocol. It needs the database
// bench/mysql/run.sh loads; without it the benchmarks skip. Run by hand:
//
//	bash bench/mysql/run.sh --setup-only
//	go test ./bench/mysql -run '^$' -bench . -benchtime 3x -benchmem
package mysql

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/bench/internal/scanbench"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/mysqlsource"
)

const benchDatabase = "snapexport_bench"

var tables = []string{"sbtest1", "wide"}

func benchURL(b *testing.B) string {
	if u := os.Getenv("SNAPEXPORT_BENCH_MYSQL_URL"); u != "" {
		return u
	}
	u, err := url.Parse(testenv.MySQLURL())
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + benchDatabase
	u.RawQuery = ""
	return u.String()
}

type benchFilter struct{}

func (benchFilter) Database(db string) bool { return db == benchDatabase }
func (benchFilter) Table(db, _, t string) bool {
	return db == benchDatabase && (t == tables[0] || t == tables[1])
}

// BenchmarkMysqlsourceScan reads a whole table through mysqlsource with the
// RDS mapping, appending each row's parquet.Values to a reused slice: what a
// worker does before the writer.
func BenchmarkMysqlsourceScan(b *testing.B) {
	ctx := context.Background()
	src, err := mysqlsource.OpenURL(ctx, benchURL(b), mysqlsource.Options{})
	if err != nil {
		b.Skipf("bench database not loaded (bash bench/mysql/run.sh --setup-only): %v", err)
	}
	defer src.Close()
	snap, err := src.Snapshot(ctx, source.SnapshotOptions{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	listed, _, err := snap.Tables(ctx, benchFilter{})
	if err != nil {
		b.Fatal(err)
	}
	var found []source.Table
	for _, name := range tables {
		i := slices.IndexFunc(listed, func(t source.Table) bool { return t.Name == name })
		if i < 0 {
			b.Skipf("table %s not loaded (bash bench/mysql/run.sh --setup-only)", name)
		}
		found = append(found, listed[i])
	}
	scanbench.Run(b, snap, src.Engine(), found)
}

// BenchmarkRawBytes reads the same tables with SELECT * through plain
// database/sql into sql.RawBytes: the driver's cost and the wire, nothing
// converted.
func BenchmarkRawBytes(b *testing.B) {
	u, err := url.Parse(benchURL(b))
	if err != nil {
		b.Fatal(err)
	}
	dsn := u.User.Username()
	if p, ok := u.User.Password(); ok {
		dsn += ":" + p
	}
	dsn += "@tcp(" + u.Host + ")/" + benchDatabase
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, name := range tables {
		var n int64
		if err := db.QueryRow("SELECT COUNT(*) FROM " + name).Scan(&n); err != nil {
			b.Skipf("table %s not loaded: %v", name, err)
		}
		b.Run(name, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				rows, err := db.Query("SELECT * FROM " + name)
				if err != nil {
					b.Fatal(err)
				}
				cols, _ := rows.Columns()
				raw := make([]sql.RawBytes, len(cols))
				ptrs := make([]any, len(cols))
				for i := range raw {
					ptrs[i] = &raw[i]
				}
				for rows.Next() {
					if err := rows.Scan(ptrs...); err != nil {
						b.Fatal(err)
					}
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
			b.ReportMetric(float64(n*int64(b.N))/time.Since(start).Seconds(), "rows/s")
		})
	}
}
