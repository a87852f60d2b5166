package scanbench

import (
	"context"
	"os"
	"testing"

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/writer"
)

// Export benchmarks whole exports of one table (exportOnly, as
// StartExportTaskInput.ExportOnly takes it) from sourceURL to a local
// directory with default options and the codec BENCH_CODEC names (default
// def), as `snapexport start-export-task` does: the harness for profiling
// the whole pipeline (go test -cpuprofile). It skips when the table is
// empty or missing, naming setup.
func Export(b *testing.B, sourceURL, exportOnly string, def writer.Codec, setup string) {
	codec := def
	if s := os.Getenv("BENCH_CODEC"); s != "" {
		var err error
		if codec, err = writer.ParseCodec(s); err != nil {
			b.Fatal(err)
		}
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
			SourceArn:            sourceURL,
			S3BucketName:         "file://" + b.TempDir(),
			ExportOnly:           []string{exportOnly},
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
			b.Skipf("%s is empty or missing (%s)", exportOnly, setup)
		}
		b.ReportMetric(float64(rec.ExportedRows), "rows/op")
	}
}
