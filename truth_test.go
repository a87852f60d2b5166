package snapexport_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// faultySource wraps the demo database: scans of the tables in fail fail,
// scans of the tables in stallAfter stop after that many rows until their
// context ends.
type faultySource struct {
	source.Source
	identity   string
	fail       map[string]bool
	stallAfter map[string]int
}

func openFaulty(t *testing.T, identity string) *faultySource {
	t.Helper()
	src, err := sqlitesource.Open(context.Background(), demoDB(t, 1), nil)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return &faultySource{Source: src, identity: identity}
}

func (f *faultySource) Identity() string { return f.identity }

func (f *faultySource) Snapshot(ctx context.Context, o source.SnapshotOptions) (source.Snapshot, error) {
	s, err := f.Source.Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	return &faultySnapshot{Snapshot: s, src: f}, nil
}

type faultySnapshot struct {
	source.Snapshot
	src *faultySource
}

var errInjected = errors.New("injected read failure")

func (f *faultySnapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	if f.src.fail[req.Table.Name] {
		return nil, errInjected
	}
	r, err := f.Snapshot.Scan(ctx, req)
	if n, ok := f.src.stallAfter[req.Table.Name]; ok && err == nil {
		return &stallingRows{Rows: r, ctx: ctx, left: n}, nil
	}
	return r, err
}

type stallingRows struct {
	source.Rows
	ctx  context.Context
	left int
}

func (s *stallingRows) Next() bool {
	if s.left == 0 {
		<-s.ctx.Done()
		return false
	}
	s.left--
	return s.Rows.Next()
}

func (s *stallingRows) Err() error {
	if s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	return s.Rows.Err()
}

func readTablesInfo(t *testing.T, s sink.Sink, id string) map[string]manifest.TableStatus {
	t.Helper()
	out := map[string]manifest.TableStatus{}
	for _, ts := range listTablesInfo(t, s, id) {
		out[ts.Target] = ts
	}
	return out
}

// listTablesInfo is every entry of a task's tables info files, in order.
func listTablesInfo(t *testing.T, s sink.Sink, id string) []manifest.TableStatus {
	t.Helper()
	var out []manifest.TableStatus
	for obj, err := range s.List(context.Background(), id+"/export_tables_info_") {
		require.NoError(t, err)
		b, err := sink.ReadObject(context.Background(), s, obj.Key)
		require.NoError(t, err)
		var ti manifest.TablesInfo
		require.NoError(t, json.Unmarshal(b, &ti))
		out = append(out, ti.PerTableStatus...)
	}
	return out
}

// TestOneBadTableFailsAlone: two tables whose reads fail fail alone; the
// others are exported, the cause names both, the tables info says which
// failed, and a resume redoes only those. The old code failed the task at
// the first table and exported nothing more.
func TestOneBadTableFailsAlone(t *testing.T) {
	ctx := context.Background()
	mem := memsink.New("")
	src := openFaulty(t, "faulty://one-bad")
	src.fail = map[string]bool{"orders": true, "customers": true}
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "one-bad", Source: src, Sink: mem,
		Options: &snapexport.TaskOptions{Concurrency: 1}})
	require.NoError(t, err)
	rec, err := task.Wait(ctx)
	require.ErrorIs(t, err, snapexport.ErrExportFailed)
	assert.ErrorIs(t, err, errInjected)
	assert.Equal(t, snapexport.StatusFailed, rec.Status)
	assert.Contains(t, rec.FailureCause, "shop.main.orders")
	assert.Contains(t, rec.FailureCause, "shop.main.customers")
	assert.Contains(t, rec.FailureCause, "2 tables failed")
	ti := readTablesInfo(t, mem, "one-bad")
	assert.Equal(t, "FAILED", ti["shop.main.orders"].Status)
	assert.Equal(t, "FAILED", ti["shop.main.customers"].Status)
	assert.Equal(t, "COMPLETE", ti["shop.main.events"].Status, "the other tables are exported")
	assert.Equal(t, "COMPLETE", ti["shop.main.empty_things"].Status)
	assert.Equal(t, int64(3000), rec.ExportedRows)
	assert.Equal(t, 2, rec.TablesCompleted)
	eventsFiles := ti["shop.main.events"].TableStatistics.Files
	require.Len(t, eventsFiles, 1)

	good := openFaulty(t, "faulty://one-bad")
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "one-bad", Source: good, Sink: mem, Resume: true})
	require.NoError(t, err)
	rec = waitComplete(t, task)
	assert.Equal(t, 2, rec.ResumedFrom.PartitionsKept, "only the failed tables are exported again")
	assert.Contains(t, dataKeys(mem), eventsFiles[0])
	assert.Equal(t, int64(15000), rec.ExportedRows)

	// FailFast: the first failure ends the task; no table stays IN_PROGRESS.
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "fail-fast", Source: src, Sink: mem,
		Options: &snapexport.TaskOptions{Concurrency: 1, FailFast: true}})
	require.NoError(t, err)
	rec, err = task.Wait(ctx)
	require.Error(t, err)
	assert.NotContains(t, rec.FailureCause, "2 tables failed")
	for target, ts := range readTablesInfo(t, mem, "fail-fast") {
		assert.NotEqual(t, "IN_PROGRESS", ts.Status, target)
	}
}

// TestCancelKeepsRolledFiles cancels a table whose one part has rolled
// into several files: the published files stay and are recorded, every
// figure equals what the files hold, no table is left IN_PROGRESS, and a
// resume replaces them with one clean run's files. The old code deleted
// the rolled files and recorded the rows of the aborted part.
func TestCancelKeepsRolledFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := dirsink.Open(dir, nil)
	require.NoError(t, err)
	defer store.Close()
	src := openFaulty(t, "faulty://rolled")
	src.stallAfter = map[string]int{"orders": 6000}
	opts := &snapexport.TaskOptions{Concurrency: 2, TargetFileBytes: 16 << 10, RowGroupBytes: 4 << 10, HeartbeatInterval: fastBeat}
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "rolled", Source: src, Sink: store, Options: opts})
	require.NoError(t, err)
	waitFor(t, func() bool { return task.Info().TablesCompleted >= 3 }) // all but orders
	files := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "rolled", "shop", "main.orders", "*", "*.parquet"))
		return m
	}
	waitFor(t, func() bool { return len(files()) >= 2 }) // orders has rolled
	time.Sleep(20 * time.Millisecond)
	task.Cancel()
	rec, err := task.Wait(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, snapexport.StatusCanceled, rec.Status)

	published := files()
	require.GreaterOrEqual(t, len(published), 2, "the files orders published stay")
	ti := readTablesInfo(t, store, "rolled")
	orders := ti["shop.main.orders"]
	assert.Equal(t, "CANCELED", orders.Status)
	assert.Len(t, orders.TableStatistics.Files, len(published), "every kept file is recorded")
	duck := duckdb(t)
	inFiles := duck.Int("SELECT count(*) FROM read_parquet(?)", filepath.Join(dir, "rolled", "shop", "main.orders", "*", "*.parquet"))
	assert.Equal(t, inFiles, orders.TableStatistics.ExportedRows, "recorded rows = rows in the files")
	assert.Less(t, inFiles, int64(6000))
	var total, bytes int64
	for target, ts := range ti {
		assert.NotEqual(t, "IN_PROGRESS", ts.Status, target)
		total += ts.TableStatistics.ExportedRows
		bytes += ts.TableStatistics.ExportedBytes
	}
	assert.Equal(t, total, rec.ExportedRows)
	assert.Equal(t, bytes, rec.TotalExtractedDataInBytes)
	assert.Equal(t, dirBytes(t, dir, "rolled"), bytes, "recorded bytes = bytes of the files")

	good := openFaulty(t, "faulty://rolled")
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "rolled", Source: good, Sink: store, Resume: true, Options: opts})
	require.NoError(t, err)
	waitComplete(t, task)
	for _, f := range published {
		assert.NoFileExists(t, f, "the cancelled part's files are replaced")
	}
	assertFilesAreRecords(t, store, dir, "rolled")
}

func dirBytes(t *testing.T, dir, id string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, id, "shop", "*", "*", "*.parquet"))
	require.NoError(t, err)
	var n int64
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// TestCancelIsSeenAndWins: after a cancel from another process returns
// CANCELING, every describe shows CANCELING at once, and a task that
// finishes exporting before it polls for the request still ends CANCELED.
// The old code showed IN_PROGRESS and ended COMPLETE.
func TestCancelIsSeenAndWins(t *testing.T) {
	ctx := context.Background()
	mem := memsink.New("")
	src := openGated(t, "gated://cancel-wins")
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "cancel-wins", Source: src, Sink: mem,
		Options: &snapexport.TaskOptions{HeartbeatInterval: time.Hour}}) // never polls
	require.NoError(t, err)
	waitStatus(t, task, snapexport.StatusInProgress)
	other, err := snapexport.New(snapexport.Config{DestinationSink: mem})
	require.NoError(t, err)
	defer other.Close()
	rec, err := other.CancelExportTask(ctx, "cancel-wins")
	require.NoError(t, err)
	assert.Equal(t, snapexport.StatusCanceling, rec.Status)
	third, err := snapexport.New(snapexport.Config{DestinationSink: mem})
	require.NoError(t, err)
	defer third.Close()
	out, err := third.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "cancel-wins"})
	require.NoError(t, err)
	require.Len(t, out.ExportTasks, 1)
	assert.Equal(t, snapexport.StatusCanceling, out.ExportTasks[0].Status)

	close(src.gate) // the export finishes without seeing the request
	final, err := task.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, snapexport.StatusCanceled, final.Status)
	out, err = third.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "cancel-wins"})
	require.NoError(t, err)
	assert.Equal(t, snapexport.StatusCanceled, out.ExportTasks[0].Status)

	// A cancel after the completion took the slot is refused.
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "done-first", SourceArn: "sqlite://" + demoDB(t, 1), Sink: mem})
	require.NoError(t, err)
	waitComplete(t, task)
	_, err = other.CancelExportTask(ctx, "done-first")
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportTaskState)
	assert.False(t, strings.Contains(strings.Join(mem.Keys(), " "), "cancel_request_done-first"), "no cancel request stays beside a COMPLETE task")
}

// brokenRecords fails every record write once broken is set (a full disk,
// a store that refuses writes).
type brokenRecords struct {
	sink.Sink
	broken atomic.Bool
}

var errStoreDown = errors.New("injected: the store refuses writes")

func (s *brokenRecords) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	if s.broken.Load() && (strings.Contains(key, "/export_info_") || strings.Contains(key, "/export_tables_info_")) {
		return nil, errStoreDown
	}
	return s.Sink.NewWriter(ctx, key, opts)
}

// TestUnwritableFinalRecordIsReported: when the final record cannot be
// written, the task does not end COMPLETE and Wait's error says the record
// is not in the destination (the CLI prints it and exits 1). The old code
// reported nothing and describe later said "stopped responding".
func TestUnwritableFinalRecordIsReported(t *testing.T) {
	ctx := context.Background()
	store := &brokenRecords{Sink: memsink.New("")}
	src := openGated(t, "gated://broken-records")
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "broken-records", Source: src, Sink: store,
		Options: &snapexport.TaskOptions{HeartbeatInterval: fastBeat}})
	require.NoError(t, err)
	waitStatus(t, task, snapexport.StatusInProgress)
	store.broken.Store(true)
	close(src.gate)
	rec, err := task.Wait(ctx)
	require.ErrorIs(t, err, snapexport.ErrRecordNotWritten)
	assert.ErrorIs(t, err, errStoreDown)
	assert.Equal(t, snapexport.StatusFailed, rec.Status, "a COMPLETE record that is not in the destination would lie")
	assert.Contains(t, err.Error(), "could not be written")
}
