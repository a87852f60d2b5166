// Package pg benchmarks reading PostgreSQL: pgsource's scan into
// parquet.Value rows against the raw COPY ... (FORMAT binary) stream that
// is the floor for any reader. It needs the database bench/pg/run.sh
// loads; without it the benchmarks skip. Run by hand:
//
//	bash bench/pg/run.sh --setup-only
//	go test ./bench/pg -run '^$' -bench . -benchtime 3x
package pg

import (
	"context"
	"io"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/snapexport/snapexport/bench/internal/scanbench"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/typemap"
)

const benchDatabase = "snapexport_bench"

func benchURL(b *testing.B) string {
	if u := os.Getenv("SNAPEXPORT_BENCH_PG_URL"); u != "" {
		return u
	}
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + benchDatabase
	return u.String()
}

var tables = []string{"pgbench_accounts", "wide"}

// BenchmarkPgsourceScan reads a whole table through pgsource with the RDS
// mapping, appending each row's parquet.Values to a reused slice: what a
// worker does before the writer.
func BenchmarkPgsourceScan(b *testing.B) {
	ctx := context.Background()
	src, err := pgsource.OpenURL(ctx, benchURL(b), &pgsource.Options{Databases: []string{benchDatabase}})
	if err != nil {
		b.Skipf("bench database not loaded (bash bench/pg/run.sh --setup-only): %v", err)
	}
	defer src.Close()
	snap, err := src.Snapshot(ctx, source.SnapshotOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	listed, _, err := snap.Tables(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var found []source.Table
	for _, name := range tables {
		i := slices.IndexFunc(listed, func(t source.Table) bool { return t.Schema == "public" && t.Name == name })
		if i < 0 {
			b.Skipf("table %s not loaded (bash bench/pg/run.sh --setup-only)", name)
		}
		found = append(found, listed[i])
	}
	scanbench.Run(b, snap, typemap.EnginePostgres, found)
}

// BenchmarkCopyBinary reads the same tables as COPY ... TO STDOUT (FORMAT
// binary) through pgx into io.Discard: the server's cost plus the wire,
// nothing decoded.
func BenchmarkCopyBinary(b *testing.B) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, benchURL(b))
	if err != nil {
		b.Skipf("bench database not loaded (bash bench/pg/run.sh --setup-only): %v", err)
	}
	defer conn.Close(ctx)
	for _, name := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{name}.Sanitize()).Scan(&n); err != nil {
			b.Skipf("table %s not loaded: %v", name, err)
		}
		b.Run(name, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				if _, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY "+pgx.Identifier{name}.Sanitize()+" TO STDOUT (FORMAT binary)"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*int64(b.N))/time.Since(start).Seconds(), "rows/s")
		})
	}
}
