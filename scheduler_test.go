package snapexport_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/scheduler"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// elsewhere is a scheduler whose parts run "on another machine": from
// their serialised descriptions, on a snapshot and a sink handle of its
// own, never through the task's runLocal. It has a warning of its own.
type elsewhere struct {
	src  source.Source
	sink sink.Sink
	ran  int
}

type openFence struct{}

func (openFence) Fence(context.Context) error          { return nil }
func (openFence) Intend(context.Context, string) error { return nil }
func (openFence) Generation() int                      { return 1 }

func (e *elsewhere) Run(ctx context.Context, parts []scheduler.PartSpec, _ scheduler.RunFunc, skip func(scheduler.PartSpec) bool, report func(scheduler.PartSpec, scheduler.PartResult, error)) error {
	snap, err := e.src.Snapshot(ctx, source.SnapshotOptions{Workers: 1})
	if err != nil {
		return err
	}
	defer snap.Close()
	for _, spec := range parts {
		if skip(spec) {
			continue
		}
		res, err := engine.RunPart(ctx, engine.PartEnv{Snapshot: snap, Sink: e.sink, Fence: openFence{}, Budget: engine.NewBudget(64 << 20)}, spec)
		e.ran++
		report(spec, res, err)
	}
	return nil
}

func (e *elsewhere) Warnings() []source.Warning {
	return []source.Warning{{Reason: "WORKER_NOTE", Detail: fmt.Sprintf("%d parts ran elsewhere", e.ran)}}
}

// twoHandles opens one demo database twice: the task's source, and the
// one a worker "on another machine" reads.
func twoHandles(t *testing.T) (task, worker source.Source) {
	t.Helper()
	db := demoDB(t, 1)
	for _, s := range []*source.Source{&task, &worker} {
		src, err := sqlitesource.Open(context.Background(), db, nil)
		require.NoError(t, err)
		t.Cleanup(func() { src.Close() })
		*s = src
	}
	return task, worker
}

// TestSchedulerElsewhere: a task whose parts a scheduler runs outside the
// task's process reports their rows as they finish, records their files,
// and carries the scheduler's warnings; the output is a clean run's.
func TestSchedulerElsewhere(t *testing.T) {
	ctx := context.Background()
	taskSrc, workerSrc := twoHandles(t)
	mem := memsink.New("")
	sched := &elsewhere{src: workerSrc, sink: mem}
	var mu sync.Mutex
	var live int64 // the most rows a table-completed event's record showed
	onEvent := func(ev snapexport.Event) {
		if ev.Type == snapexport.EventTableCompleted {
			mu.Lock()
			live = max(live, ev.Task.ExportedRows)
			mu.Unlock()
		}
	}
	task, err := newExporter(t).StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "elsewhere-1", Source: taskSrc, Sink: mem,
		Options: &snapexport.TaskOptions{Scheduler: sched, OnEvent: onEvent},
	})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	assert.Greater(t, sched.ran, 1)
	assert.Equal(t, int64(15000), rec.ExportedRows)
	assert.Len(t, dataKeys(mem), 3, "one file per non-empty table, as a clean run")
	assert.Contains(t, rec.WarningMessage, "WORKER_NOTE")
	assert.Equal(t, snapexport.ConsistencySnapshot, rec.Consistency)
	assert.NotContains(t, rec.WarningMessage, snapexport.ReasonNoSharedSnapshot)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, int64(15000), live, "rows of remote parts show as they finish, before the final record")
}

// TestConsistencyNoneIsRecorded: a task whose scheduler's parts read
// snapshots of their own says so in its record and its warnings, in the
// process and in the destination; the in-process pool refuses the option.
func TestConsistencyNoneIsRecorded(t *testing.T) {
	ctx := context.Background()
	taskSrc, workerSrc := twoHandles(t)
	mem := memsink.New("")
	exp := newExporter(t)
	_, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "none-0", Source: taskSrc, Sink: mem,
		Options: &snapexport.TaskOptions{Consistency: snapexport.ConsistencyNone}})
	assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue)
	_, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "none-0", Source: taskSrc, Sink: mem,
		Options: &snapexport.TaskOptions{Consistency: "sometimes", Scheduler: &elsewhere{}}})
	assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue)

	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "none-1", Source: taskSrc, Sink: mem,
		Options: &snapexport.TaskOptions{Consistency: snapexport.ConsistencyNone, Scheduler: &elsewhere{src: workerSrc, sink: mem}}})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	assert.Equal(t, snapexport.ConsistencyNone, rec.Consistency)
	assert.Contains(t, rec.WarningMessage, snapexport.ReasonNoSharedSnapshot)
	out, err := watcher(t, mem).DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "none-1"})
	require.NoError(t, err)
	require.Len(t, out.ExportTasks, 1)
	assert.Equal(t, snapexport.ConsistencyNone, out.ExportTasks[0].Consistency, "the destination's record says it too")
}
