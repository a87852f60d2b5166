package dirsink_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

// TestReadOnlyUseWritesNothing is issue 13 item 10 through the public API:
// describing the tasks of a directory that does not exist, and a start
// refused before it writes (the resume of an unknown task), leave the file
// system as it was. Before, both created the directory.
func TestReadOnlyUseWritesNothing(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	dest := filepath.Join(base, "exports", "lake")
	exp, err := snapexport.New(snapexport.Config{Destination: "file://" + dest})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	out, err := exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{})
	if err != nil {
		t.Fatalf("describe on a missing directory: %v", err)
	}
	if len(out.ExportTasks) != 0 {
		t.Errorf("describe found %d tasks in a missing directory", len(out.ExportTasks))
	}
	db := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(db, nil, 0o666); err != nil { // an empty file is an empty SQLite database
		t.Fatal(err)
	}
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "sinks-never-started",
		SourceArn:            "sqlite://" + db,
		S3BucketName:         "file://" + dest,
		Resume:               true,
	})
	if err == nil {
		rec, werr := task.Wait(ctx)
		t.Fatalf("resume of an unknown task started: %s, %v", rec.Status, werr)
	}
	t.Logf("refused as expected: %v", err)
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Errorf("describe and a refused start created %v (%v) in %s", entries, err, base)
	}
}
