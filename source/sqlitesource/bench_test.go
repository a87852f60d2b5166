package sqlitesource_test

import (
	"context"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// BenchmarkScan reads 100,000 rows of (integer, text, real, blob) into
// Parquet values; b.N counts rows, so ns/op and allocs/op are per row.
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	path := b.TempDir() + "/bench.db"
	w, err := openWriter(ctx, path, "WAL")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, r REAL, x BLOB);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 100000)
		INSERT INTO t SELECT i, 'name number ' || i, i * 0.5, randomblob(16) FROM c`); err != nil {
		b.Fatal(err)
	}
	src, err := sqlitesource.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	snap, err := src.Snapshot(ctx, source.SnapshotOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	tables, _, err := snap.Tables(ctx, allFilter{})
	if err != nil {
		b.Fatal(err)
	}
	req := scanAll(tables[0])
	b.ReportAllocs()
	b.ResetTimer()
	var vals []parquet.Value
	for n := 0; n < b.N; {
		rows, err := snap.Scan(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for n < b.N && rows.Next() {
			vals, _ = rows.Row(vals[:0])
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
}
