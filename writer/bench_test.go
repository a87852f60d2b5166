package writer_test

import (
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// pgbenchColumns are the columns of pgbench_accounts: aid, bid, abalance
// and an 84-character filler.
var pgbenchColumns = []writer.Column{
	{Name: "aid", Target: typemap.Target{Kind: typemap.Int32}, SourceType: "integer"},
	{Name: "bid", Target: typemap.Target{Kind: typemap.Int32}, SourceType: "integer"},
	{Name: "abalance", Target: typemap.Target{Kind: typemap.Int32}, SourceType: "integer"},
	{Name: "filler", Target: typemap.Target{Kind: typemap.String}, SourceType: "character"},
}

// BenchmarkWriteRow measures FileWriter.WriteRow on pgbench_accounts rows,
// through encoding and compression, to a discarding output. The filler
// varies per row (pgbench's is blank; a varying one does not flatter the
// codec) and sits in a reused buffer, as a source driver's would.
//
// It reports ns/row (wall clock), cpu-ns/row (CPU time of the process, GC
// included: steadier on a shared machine) and file-B/row (output size).
func BenchmarkWriteRow(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts writer.Options
	}{
		{"snappy", writer.Options{Codec: writer.Snappy}},
		{"gzip", writer.Options{Codec: writer.Gzip}},
		{"gzip-1", writer.Options{Codec: writer.Gzip, Level: 1}},
		{"zstd", writer.Options{Codec: writer.Zstd}},
		{"none", writer.Options{Codec: writer.Uncompressed}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			out := &countingDiscard{}
			fw, err := writer.NewFileWriter(out, pgbenchColumns, tc.opts)
			if err != nil {
				b.Fatal(err)
			}
			filler := []byte(strings.Repeat(" ", 84))
			row := make([]parquet.Value, 4)
			b.ReportAllocs()
			b.SetBytes(4 + 4 + 4 + 84)
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				aid := int32(i + 1)
				filler[i%84] = byte('a' + i%26)
				row[0] = parquet.Int32Value(aid)
				row[1] = parquet.Int32Value(aid/100000 + 1)
				row[2] = parquet.Int32Value(int32(i%20000) - 10000)
				row[3] = parquet.ByteArrayValue(filler)
				if err := fw.WriteRow(row); err != nil {
					b.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
			b.ReportMetric(float64(out.n)/float64(b.N), "file-B/row")
		})
	}
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
