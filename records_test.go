package snapexport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
)

const fastBeat = 50 * time.Millisecond

// watcher is an Exporter standing in for another process: it shares only
// the destination with the exporter that runs the tasks.
func watcher(t *testing.T, dest sink.Sink) *snapexport.Exporter {
	t.Helper()
	exp, err := snapexport.New(snapexport.Config{DestinationSink: dest})
	require.NoError(t, err)
	t.Cleanup(func() { exp.Close() })
	return exp
}

func TestDescribeFromDestination(t *testing.T) {
	mem := memsink.New("")
	ctx := context.Background()
	other := watcher(t, mem)
	out, err := other.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{})
	require.NoError(t, err)
	assert.Empty(t, out.ExportTasks, "a destination without records lists nothing")

	runner := newExporter(t)
	dbPath := demoDB(t, 1)
	for i := 0; i < 3; i++ {
		task, err := runner.StartExportTask(ctx, snapexport.StartExportTaskInput{
			ExportTaskIdentifier: fmt.Sprintf("rec-%d", i), SourceArn: "sqlite://" + dbPath, Sink: mem,
			ExportOnly: []string{"shop.orders"},
		})
		require.NoError(t, err)
		waitComplete(t, task)
	}
	// A corrupt record and a foreign file of the same name are skipped with
	// a warning; other objects are ignored.
	require.NoError(t, sink.WriteObject(ctx, mem, "bad-1/export_info_bad-1.json", []byte("{not json"), nil))
	require.NoError(t, sink.WriteObject(ctx, mem, "alien-1/export_info_alien-1.json", []byte(`{"hello":"world"}`), nil))
	require.NoError(t, sink.WriteObject(ctx, mem, "notes/readme.txt", []byte("hi"), nil))

	out, err = other.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{})
	require.NoError(t, err)
	var ids []string
	for _, rec := range out.ExportTasks {
		ids = append(ids, rec.ExportTaskIdentifier)
		assert.Equal(t, snapexport.StatusComplete, rec.Status)
		assert.Equal(t, int64(10000), rec.ExportedRows)
		assert.Equal(t, 100, rec.PercentProgress)
	}
	assert.ElementsMatch(t, []string{"rec-0", "rec-1", "rec-2"}, ids)
	require.Len(t, out.Warnings, 2)
	assert.Contains(t, strings.Join(out.Warnings, "\n"), "bad-1/export_info_bad-1.json")
	assert.Contains(t, strings.Join(out.Warnings, "\n"), "alien-1/export_info_alien-1.json")

	out, err = other.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{
		Filters: []snapexport.Filter{{Name: "export-task-identifier", Values: []string{"rec-1"}}, {Name: "status", Values: []string{"complete"}}}})
	require.NoError(t, err)
	require.Len(t, out.ExportTasks, 1)

	_, err = other.CancelExportTask(ctx, "rec-1")
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportTaskState)
	_, err = other.CancelExportTask(ctx, "nope")
	assert.ErrorIs(t, err, snapexport.ErrExportTaskNotFound)
}

func TestStaleRecordIsReportedFailed(t *testing.T) {
	mem := memsink.New("")
	ctx := context.Background()
	start := time.Now().Add(-time.Hour).UTC()
	info := manifest.ExportInfo{ExportTaskIdentifier: "stale-1", Status: "IN_PROGRESS", TaskStartTime: &start,
		HeartbeatTime: start.Add(time.Minute), HeartbeatIntervalSeconds: 5, PercentProgress: 42, Generator: manifest.GeneratorName}
	b, _ := json.Marshal(info)
	require.NoError(t, sink.WriteObject(ctx, mem, "stale-1/export_info_stale-1.json", b, nil))
	out, err := watcher(t, mem).DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{})
	require.NoError(t, err)
	require.Len(t, out.ExportTasks, 1)
	rec := out.ExportTasks[0]
	assert.Equal(t, snapexport.StatusFailed, rec.Status)
	assert.Contains(t, rec.FailureCause, "stopped responding")
	assert.Contains(t, rec.FailureCause, start.Add(time.Minute).Format(time.RFC3339))
	assert.Equal(t, 42, rec.PercentProgress)
}

func TestCancelFromAnotherProcess(t *testing.T) {
	verifyNoLeaks(t)
	mem := memsink.New("")
	src := openGated(t, "gated://remote-cancel")
	runner, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	task, err := runner.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "remote-1", Source: src, Sink: mem,
		Options: &snapexport.TaskOptions{HeartbeatInterval: fastBeat},
	})
	require.NoError(t, err)
	waitStatus(t, task, snapexport.StatusInProgress)

	other := watcher(t, mem)
	// The other process sees it running.
	waitFor(t, func() bool {
		out, err := other.DescribeExportTasks(context.Background(), snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "remote-1"})
		return err == nil && len(out.ExportTasks) == 1 && out.ExportTasks[0].Status == snapexport.StatusInProgress
	})
	rec, err := other.CancelExportTask(context.Background(), "remote-1")
	require.NoError(t, err)
	assert.Equal(t, snapexport.StatusCanceling, rec.Status)

	final, err := task.Wait(context.Background())
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, snapexport.StatusCanceled, final.Status)
	waitFor(t, func() bool {
		out, err := other.DescribeExportTasks(context.Background(), snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "remote-1"})
		return err == nil && len(out.ExportTasks) == 1 && out.ExportTasks[0].Status == snapexport.StatusCanceled
	})

	// A resume is not stopped by the request that canceled the first run.
	close(src.gate)
	task, err = runner.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "remote-1", Source: src, Sink: mem, Resume: true,
		Options: &snapexport.TaskOptions{HeartbeatInterval: fastBeat},
	})
	require.NoError(t, err)
	waitComplete(t, task)
	require.NoError(t, runner.Close())
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition never became true")
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResume cancels a task after one table finished, then resumes it: the
// finished table's file is kept as it was, the rest is exported, and the
// result has exactly the files and rows of one clean run.
func TestResume(t *testing.T) {
	mem := memsink.New("")
	ctx := context.Background()
	src := openGated(t, "gated://resume")
	src.free = "events"
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "resume-1", Source: src, Sink: mem,
		Options: &snapexport.TaskOptions{Concurrency: 4, HeartbeatInterval: fastBeat},
	})
	require.NoError(t, err)
	waitFor(t, func() bool { return task.Info().TablesCompleted >= 1 })
	task.Cancel()
	first, _ := task.Wait(ctx)
	require.Equal(t, snapexport.StatusCanceled, first.Status)
	keptFile := dataKeys(mem)
	require.Len(t, keptFile, 1)

	// Bad resumes first.
	in := snapexport.StartExportTaskInput{ExportTaskIdentifier: "resume-1", Source: src, Sink: mem, Resume: true,
		Options: &snapexport.TaskOptions{Concurrency: 4, HeartbeatInterval: fastBeat}}
	other := openGated(t, "gated://somewhere-else")
	bad := in
	bad.Source = other
	_, err = exp.StartExportTask(ctx, bad)
	assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue)
	assert.ErrorContains(t, err, "gated://somewhere-else")
	bad = in
	bad.ExportOnly = []string{"shop"}
	_, err = exp.StartExportTask(ctx, bad)
	assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue)
	assert.ErrorContains(t, err, "ExportOnly")
	bad = in
	bad.ExportTaskIdentifier = "never-ran"
	_, err = exp.StartExportTask(ctx, bad)
	assert.ErrorIs(t, err, snapexport.ErrExportTaskNotFound)

	close(src.gate)
	task, err = exp.StartExportTask(ctx, in)
	require.NoError(t, err)
	rec := waitComplete(t, task)
	require.NotNil(t, rec.ResumedFrom)
	assert.Equal(t, snapexport.StatusCanceled, rec.ResumedFrom.Status)
	assert.Equal(t, 1, rec.ResumedFrom.PartitionsKept)
	assert.NotEmpty(t, rec.ResumedFrom.SnapshotIdentity)

	keys := dataKeys(mem)
	assert.Contains(t, keys, keptFile[0], "the finished table's file is kept")
	assert.Len(t, keys, 3, "one file per non-empty table, as a clean run: %v", keys)
	assert.Equal(t, int64(15000), rec.ExportedRows)
	assert.Equal(t, 4, rec.TablesCompleted)

	_, err = exp.StartExportTask(ctx, in)
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportTaskState, "a COMPLETE task cannot be resumed")
	assert.ErrorContains(t, err, "COMPLETE")
}

// TestResumeReplacesLeftovers stands in for a process killed mid-run: a file
// of an unfinished part is in the destination, named by the dead run's
// journal, and the record is stale. The resume deletes it and writes the
// part again; a file in the table's folder that no record of the task
// names is not the task's and stays (deletion removes only keys the task's
// own records name; the old code deleted everything under the folder).
func TestResumeReplacesLeftovers(t *testing.T) {
	mem := memsink.New("")
	ctx := context.Background()
	dbPath := demoDB(t, 1)
	start := time.Now().Add(-time.Hour).UTC()
	info := manifest.ExportInfo{ExportTaskIdentifier: "killed-1", Status: "IN_PROGRESS", TaskStartTime: &start, SourceArn: "sqlite://" + dbPath,
		HeartbeatTime: start, HeartbeatIntervalSeconds: 1, Generator: manifest.GeneratorName, Generation: 1}
	b, _ := json.Marshal(info)
	require.NoError(t, sink.WriteObject(ctx, mem, "killed-1/export_info_killed-1.json", b, nil))
	require.NoError(t, sink.WriteObject(ctx, mem, "killed-1/lease_killed-1_1.json", []byte(`{"generation":1,"runId":"dead"}`), nil))
	leftover := "killed-1/shop/main.orders/1/part-00000-00000000-0000-0000-0000-000000000000.gz.parquet"
	require.NoError(t, sink.WriteObject(ctx, mem, leftover, []byte("half of something"), nil))
	require.NoError(t, sink.WriteObject(ctx, mem, "killed-1/journal_killed-1_1.json", []byte(`{"generation":1,"runId":"dead","keys":["`+leftover+`"]}`), nil))
	foreign := "killed-1/shop/main.orders/1/part-00000-11111111-0000-0000-0000-000000000000.gz.parquet"
	require.NoError(t, sink.WriteObject(ctx, mem, foreign, []byte("not the task's"), nil))

	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "killed-1", SourceArn: "sqlite://" + dbPath, Sink: mem, Resume: true})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	assert.Equal(t, snapexport.StatusFailed, rec.ResumedFrom.Status, "a stale record counts as failed")
	keys := dataKeys(mem)
	assert.NotContains(t, keys, leftover)
	assert.Contains(t, keys, foreign, "no record of the task names it")
	assert.Len(t, keys, 4)
	_, ok := mem.Bytes("killed-1/lease_killed-1_2.json")
	assert.True(t, ok, "the resume owns generation 2")
}

func dataKeys(m *memsink.Sink) []string {
	var out []string
	for _, k := range m.Keys() {
		if strings.HasSuffix(k, ".parquet") {
			out = append(out, k)
		}
	}
	return out
}

// TestOneIdentifierTwoProcesses starts one identifier from two exporters
// at once into one destination: exactly one wins.
func TestOneIdentifierTwoProcesses(t *testing.T) {
	mem := memsink.New("")
	for round := 0; round < 5; round++ {
		id := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		tasks := make([]*snapexport.Task, 2)
		for i := 0; i < 2; i++ {
			exp := newExporter(t)
			src := openGated(t, fmt.Sprintf("gated://race/%d/%d", round, i))
			close(src.gate)
			wg.Add(1)
			go func() {
				defer wg.Done()
				tasks[i], errs[i] = exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{ExportTaskIdentifier: id, Source: src, Sink: mem})
			}()
		}
		wg.Wait()
		wins := 0
		for i := range errs {
			if errs[i] == nil {
				wins++
				waitComplete(t, tasks[i])
			} else {
				assert.ErrorIs(t, errs[i], snapexport.ErrExportTaskAlreadyExists)
			}
		}
		assert.Equal(t, 1, wins, "round %d", round)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	exp := newExporter(t)
	ch := make(chan snapexport.Event, 100)
	var mu sync.Mutex
	var called []snapexport.EventType
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "events-1", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(""),
		Options: &snapexport.TaskOptions{Events: ch, OnEvent: func(e snapexport.Event) {
			mu.Lock()
			called = append(called, e.Type)
			mu.Unlock()
		}},
	})
	require.NoError(t, err)
	waitComplete(t, task)
	var got []snapexport.Event
	for len(ch) > 0 {
		got = append(got, <-ch)
	}
	require.NotEmpty(t, got)
	assert.Equal(t, snapexport.EventStarted, got[0].Type)
	last := got[len(got)-1]
	assert.Equal(t, snapexport.EventCompleted, last.Type)
	assert.Equal(t, "RDS-EVENT-0161", last.EventID)
	assert.Equal(t, "The snapshot export task completed.", last.Message)
	assert.Equal(t, snapexport.StatusComplete, last.Task.Status)
	tables := 0
	for _, e := range got {
		if e.Type == snapexport.EventTableCompleted {
			tables++
			assert.NotEmpty(t, e.Table)
		}
	}
	assert.Equal(t, 4, tables)
	mu.Lock()
	assert.Len(t, called, len(got), "callback and channel see the same events")
	mu.Unlock()

	// Failed and canceled tasks end with their RDS events.
	ch = make(chan snapexport.Event, 100)
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "events-2", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(""),
		Options: &snapexport.TaskOptions{Events: ch, MaxValueBytes: 10},
	})
	require.NoError(t, err)
	_, err = task.Wait(ctx)
	require.Error(t, err)
	assert.Equal(t, "RDS-EVENT-0159", lastEvent(ch).EventID)

	ch = make(chan snapexport.Event, 100)
	src := openGated(t, "gated://events")
	task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "events-3", Source: src, Sink: memsink.New(""), Options: &snapexport.TaskOptions{Events: ch},
	})
	require.NoError(t, err)
	waitStatus(t, task, snapexport.StatusInProgress)
	task.Cancel()
	_, err = task.Wait(ctx)
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Equal(t, "RDS-EVENT-0160", lastEvent(ch).EventID)
}

func lastEvent(ch chan snapexport.Event) snapexport.Event {
	var e snapexport.Event
	for len(ch) > 0 {
		e = <-ch
	}
	return e
}

// TestEventsNeverBlock: an unbuffered Events channel nobody reads until the
// task is done must not block StartExportTask nor the task (the old code
// sent "started" synchronously and hung); the final event still arrives,
// then the channel is closed.
func TestEventsNeverBlock(t *testing.T) {
	ch := make(chan snapexport.Event)
	exp := newExporter(t)
	started := make(chan *snapexport.Task, 1)
	go func() {
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: "events-unread", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(""),
			Options: &snapexport.TaskOptions{Events: ch},
		})
		assert.NoError(t, err)
		started <- task
	}()
	var task *snapexport.Task
	select {
	case task = <-started:
	case <-time.After(time.Minute):
		t.Fatal("StartExportTask blocked on the unread Events channel")
	}
	waitComplete(t, task)
	var got []snapexport.Event
	for ev := range ch { // ends: the channel is closed after the final event
		got = append(got, ev)
	}
	require.Len(t, got, 1, "only the final event is delivered to a channel read that late")
	assert.Equal(t, snapexport.EventCompleted, got[0].Type)
	assert.Contains(t, got[0].Message, "earlier events were dropped")
}
