package mysql

import (
	"context"
	"os"
	"testing"

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/writer"
)

// BenchmarkExport runs whole exports of one table (BENCH_TABLE, default
// sbtest1) of BENCH_DB (default snapexport_bench) to a local directory with
// default options and Snappy, as `snapexport start-export-task` does: the
// harness for profiling the whole pipeline, e.g.
//
//	BENCH_DB=snapexport_bench_10m go test ./bench/mysql -run '^$' -bench Export -benchtime 1x -cpuprofile /tmp/cpu.out
//	go tool pprof -top /tmp/cpu.out
func BenchmarkExport(b *testing.B) {
	db, table := os.Getenv("BENCH_DB"), os.Getenv("BENCH_TABLE")
	if db == "" {
		db = benchDatabase
	}
	if table == "" {
		table = tables[0]
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
			ExportOnly:           []string{db + "." + table},
			Options:              &snapexport.TaskOptions{Compression: writer.Snappy},
		})
		if err != nil {
			b.Fatal(err)
		}
		rec, err := task.Wait(ctx)
		if err != nil {
			b.Fatalf("export: %v (%s)", err, rec.FailureCause)
		}
		if rec.ExportedRows == 0 {
			b.Skipf("%s.%s is empty or missing (bash bench/mysql/run.sh --setup-only)", db, table)
		}
		b.ReportMetric(float64(rec.ExportedRows), "rows/op")
	}
}
