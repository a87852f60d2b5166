package pg

import (
	"context"
	"os"
	"testing"

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/writer"
)

// BenchmarkExport runs whole exports of one table (BENCH_TABLE, default
// pgbench_accounts) of the bench database to a local directory with
// default options and the codec BENCH_CODEC (default gzip), as
// `snapexport start-export-task` does: the harness for profiling the whole
// pipeline, e.g.
//
//	go test ./bench/pg -run '^$' -bench Export -benchtime 1x -cpuprofile /tmp/cpu.out
//	go tool pprof -top /tmp/cpu.out
func BenchmarkExport(b *testing.B) {
	table := os.Getenv("BENCH_TABLE")
	if table == "" {
		table = tables[0]
	}
	codec, err := writer.ParseCodec(cmpOr(os.Getenv("BENCH_CODEC"), "gzip"))
	if err != nil {
		b.Fatal(err)
	}
	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer exp.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
			ExportTaskIdentifier: "bench-" + string(rune('a'+i%26)),
			SourceArn:            benchURL(b),
			S3BucketName:         "file://" + b.TempDir(),
			ExportOnly:           []string{benchDatabase + ".public." + table},
			Options:              &snapexport.TaskOptions{Compression: codec},
		})
		if err != nil {
			b.Fatal(err)
		}
		rec, err := task.Wait(ctx)
		if err != nil {
			b.Fatalf("export: %v (%s)", err, rec.FailureCause)
		}
		if rec.ExportedRows == 0 {
			b.Skipf("%s.%s is empty or missing (bash bench/pg/run.sh --setup-only)", benchDatabase, table)
		}
		b.ReportMetric(float64(rec.ExportedRows), "rows/op")
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
