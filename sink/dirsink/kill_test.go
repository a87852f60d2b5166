package dirsink_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
)

// killedWriterEnv tells the test binary, run again as a child, to write
// into that directory and wait to be killed.
const killedWriterEnv = "DIRSINK_TEST_KILLED_WRITER_DIR"

// TestKilledWriterSwept: a process killed with SIGKILL in the middle of a
// write leaves its temporary file, outside the key's folder; another
// process's sink lists no object, yields the write from Abandoned with its
// key, and sweeps it, after which the directory holds nothing.
func TestKilledWriterSwept(t *testing.T) {
	if dir := os.Getenv(killedWriterEnv); dir != "" {
		killedWriter(dir)
		return
	}
	dir := t.TempDir()
	testenv.RunAndKill(t, "TestKilledWriterSwept", killedWriterEnv+"="+dir)

	ctx := t.Context()
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for o, err := range s.List(ctx, "") {
		t.Errorf("List after the kill: %v, %v; want nothing", o, err)
	}
	var found []sink.Abandoned
	for a, err := range s.Abandoned(ctx, "task/") {
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, a)
	}
	if len(found) != 1 || found[0].Key != "task/db/t/1/part-00000.gz.parquet" {
		t.Fatalf("Abandoned after the kill = %+v, want the killed write of task/db/t/1/part-00000.gz.parquet", found)
	}
	if left, err := leftovers(dir); err != nil || len(left) != 1 {
		t.Errorf("before the sweep: leftovers %q, %v; want the temporary folder", left, err)
	}
	if err := s.Sweep(ctx, found[0]); err != nil {
		t.Fatal(err)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("after the sweep: leftovers %q, %v", left, err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after the sweep the directory holds %v (%v), want nothing", entries, err)
	}
}

// killedWriter is the child: it starts a write, says so, and waits for
// SIGKILL.
func killedWriter(dir string) {
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w, err := s.NewWriter(context.Background(), "task/db/t/1/part-00000.gz.parquet", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.AwaitKill()
}
