// Package scanbench holds the benchmark loops bench/pg and bench/mysql
// share: Run, a whole table read through a source driver with the RDS
// mapping, each row's parquet.Values appended to a reused slice, which is
// what an export worker does before the writer; and Export, whole exports
// of a table, for profiles of the pipeline.
package scanbench

import (
	"context"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Run benchmarks a full scan of each table of snap, as a sub-benchmark named
// after it, reporting rows/s and rows/op. engine names the typemap profile.
// Columns the mapping omits are not read.
func Run(b *testing.B, snap source.Snapshot, engine string, tables []source.Table) {
	ctx := context.Background()
	for _, tb := range tables {
		req := source.ScanRequest{Table: tb}
		for _, c := range tb.Columns {
			t, err := typemap.RDS().Map(engine, tb.Target(), c)
			if err != nil {
				b.Fatal(err)
			}
			if t.Kind != typemap.Omit {
				req.Columns = append(req.Columns, source.ScanColumn{Column: c, Target: t})
			}
		}
		b.Run(tb.Name, func(b *testing.B) {
			var rowsRead int64
			start := time.Now()
			for b.Loop() {
				rows, err := snap.Scan(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]parquet.Value, 0, len(req.Columns))
				for rows.Next() {
					if buf, err = rows.Row(buf[:0]); err != nil {
						b.Fatal(err)
					}
					rowsRead++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
			b.ReportMetric(float64(rowsRead)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(rowsRead)/float64(b.N), "rows/op")
		})
	}
}
