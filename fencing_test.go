package snapexport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/sink/memsink"
)

// slowRecords wraps the sink of a process whose record writes stall (the
// issue's reproduction: its export_info writes slowed to 20 s; its lease
// writes too, or it would renew its lease and rightly keep the task): while
// slow is set, a record write waits before it reaches the store until
// release closes or its context ends.
type slowRecords struct {
	sink.Sink
	slow    atomic.Bool
	release chan struct{}
}

func (s *slowRecords) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	if s.slow.Load() && (strings.Contains(key, "/export_info_") || strings.Contains(key, "/export_tables_info_") || strings.Contains(key, "/lease_")) {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Sink.NewWriter(ctx, key, opts)
}

// TestStalledOwnerIsFenced is the split-brain reproduction in one process:
// task A's record writes stall, so its record goes stale and B resumes the
// task; then A wakes up with rows to write. A must publish nothing more and
// end FAILED saying another process took over; B's COMPLETE output holds
// every row once and its tables info lists exactly the files present. The
// old code let A publish its files and write its own records over B's.
func TestStalledOwnerIsFenced(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			store, err := dirsink.Open(dir, nil)
			require.NoError(t, err)
			defer store.Close()
			id := fmt.Sprintf("stall-%d", round)
			identity := "gated://stall/" + id
			opts := &snapexport.TaskOptions{Concurrency: 4, HeartbeatInterval: fastBeat, TargetFileBytes: 16 << 10, RowGroupBytes: 4 << 10}

			slowA := &slowRecords{Sink: store, release: make(chan struct{})}
			srcA := openGated(t, identity)
			srcA.free = "events"
			expA := newExporter(t)
			a, err := expA.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: id, Source: srcA, Sink: slowA, Options: opts})
			require.NoError(t, err)
			waitFor(t, func() bool { return a.Info().TablesCompleted >= 1 })
			waitFor(t, func() bool { return tablesInfoComplete(t, store, id) >= 1 }) // the kept part is on record
			slowA.slow.Store(true)

			// Another process sees the task stale and resumes it.
			expB, err := snapexport.New(snapexport.Config{DestinationSink: store})
			require.NoError(t, err)
			defer expB.Close()
			waitFor(t, func() bool {
				out, err := expB.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: id})
				return err == nil && len(out.ExportTasks) == 1 && out.ExportTasks[0].Status == snapexport.StatusFailed
			})
			srcB := openGated(t, identity)
			close(srcB.gate)
			b, err := expB.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: id, Source: srcB, Sink: store, Resume: true, Options: opts})
			require.NoError(t, err)
			recB := waitComplete(t, b)
			assert.GreaterOrEqual(t, recB.ResumedFrom.PartitionsKept, 1)

			// A wakes up: its scans go on, its record writes land.
			close(srcA.gate)
			close(slowA.release)
			recA, err := a.Wait(ctx)
			require.Error(t, err)
			assert.Equal(t, snapexport.StatusFailed, recA.Status)
			assert.Contains(t, recA.FailureCause, "another process took over this export (generation ")
			time.Sleep(5 * fastBeat) // what A might still write would land by now

			var info manifest.ExportInfo
			b2, err := sink.ReadObject(ctx, store, id+"/export_info_"+id+".json")
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b2, &info))
			assert.Equal(t, "COMPLETE", info.Status)
			assert.GreaterOrEqual(t, info.Generation, 2, "B or a renewal of its lease wrote it")
			assertFilesAreRecords(t, store, dir, id)
		})
	}
}

func tablesInfoComplete(t *testing.T, s sink.Sink, id string) int {
	t.Helper()
	b, err := sink.ReadObject(context.Background(), s, id+"/export_tables_info_"+id+"_from_1_to_4.json")
	if err != nil {
		return 0
	}
	var ti manifest.TablesInfo
	require.NoError(t, json.Unmarshal(b, &ti))
	n := 0
	for _, ts := range ti.PerTableStatus {
		if ts.Status == "COMPLETE" {
			n++
		}
	}
	return n
}

// assertFilesAreRecords checks a COMPLETE demo export: the data files
// present are exactly those the tables info lists, and they hold every row
// of the demo database exactly once.
func assertFilesAreRecords(t *testing.T, s sink.Sink, dir, id string) {
	t.Helper()
	ctx := context.Background()
	var listed, present []string
	for _, ts := range listTablesInfo(t, s, id) {
		assert.Equal(t, "COMPLETE", ts.Status, ts.Target)
		listed = append(listed, ts.TableStatistics.Files...)
	}
	for obj, err := range s.List(ctx, id+"/") {
		require.NoError(t, err)
		if strings.HasSuffix(obj.Key, ".parquet") {
			present = append(present, obj.Key)
		}
	}
	slices.Sort(listed)
	assert.Equal(t, present, listed, "files listed in export_tables_info = files present")
	duck := duckdb(t)
	for table, key := range map[string]string{"orders": "order_id", "customers": "id", "events": "count(*)"} {
		glob := filepath.Join(dir, id, "shop", "main."+table, "*", "*.parquet")
		n := duck.Int("SELECT count(*) FROM read_parquet(?)", glob)
		if key != "count(*)" {
			assert.Equal(t, n, duck.Int(fmt.Sprintf("SELECT count(DISTINCT %s) FROM read_parquet(?)", key), glob), table)
		}
		assert.Equal(t, int64(demodb.Tables[table]), n, table)
	}
}

// TestNonAtomicSinkIsNamed: a sink that cannot create an object only if it
// is absent (no sink.ConditionalWriter, or one that says false) cannot
// guarantee one owner per task; the task says so in its warnings, and a
// sink that can does not get the warning.
func TestNonAtomicSinkIsNamed(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		sink   sink.Sink
		warned bool
	}{
		{"atomic", memsink.New(t.Name() + "-atomic"), false},
		{"plain", struct{ sink.Sink }{memsink.New(t.Name() + "-plain")}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := openGated(t, "gated://atomic-"+c.name)
			close(src.gate)
			task, err := newExporter(t).StartExportTask(ctx, snapexport.StartExportTaskInput{
				ExportTaskIdentifier: "atomic-" + c.name, Source: src, Sink: c.sink})
			require.NoError(t, err)
			rec := waitComplete(t, task)
			w, err := snapexport.ParseWarnings(rec.WarningMessage)
			require.NoError(t, err)
			named := slices.ContainsFunc(w.General, func(e snapexport.WarningEntry) bool { return e.Reason == snapexport.ReasonOwnershipNotAtomic })
			assert.Equal(t, c.warned, named, "warnings: %s", rec.WarningMessage)
		})
	}
}
