package snapexport_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/typemap"
)

// TestNegativeOptionsAreRefused: a negative value is refused like a
// negative Concurrency, not silently taken as the default.
func TestNegativeOptionsAreRefused(t *testing.T) {
	exp := newExporter(t)
	for name, o := range map[string]snapexport.TaskOptions{
		"Concurrency":       {Concurrency: -1},
		"MemoryLimit":       {MemoryLimit: -1},
		"RowGroupBytes":     {RowGroupBytes: -5},
		"TargetFileBytes":   {TargetFileBytes: -1},
		"TargetPartBytes":   {TargetPartBytes: -1},
		"MaxValueBytes":     {MaxValueBytes: -1},
		"HeartbeatInterval": {HeartbeatInterval: -time.Second},
	} {
		_, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: "neg", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(t.Name()), Options: &o})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue, name)
		assert.Contains(t, err.Error(), "TaskOptions."+name, name)
		assert.Contains(t, err.Error(), "negative", name)
	}
}

// TestExportOnlyMatchingNothingFails: a list none of whose entries matches
// ends FAILED naming the entries, not COMPLETE with 0 rows.
func TestExportOnlyMatchingNothingFails(t *testing.T) {
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "nomatch", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(t.Name()),
		ExportOnly: []string{"shop.nosuch", "otherdb"}})
	require.NoError(t, err)
	rec, err := task.Wait(context.Background())
	require.Equal(t, snapexport.StatusFailed, rec.Status)
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportOnly)
	assert.Contains(t, rec.FailureCause, "NO_MATCHING_OBJECTS")
	assert.Contains(t, rec.FailureCause, `"shop.nosuch"`)
	assert.Contains(t, rec.FailureCause, `"otherdb"`)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	require.NoError(t, err)
	assert.Len(t, w.SkippedObjectives, 2, "the entries stay listed")
}

// TestUnusedTypeOverrides: an override that matches no column is a warning,
// and fails the task with Strict.
func TestUnusedTypeOverrides(t *testing.T) {
	mapper := typemap.WithOverrides(typemap.RDS(), typemap.Overrides{
		ByType:   map[string]typemap.Target{"INTEGER": {Kind: typemap.String}, "no_such_type": {Kind: typemap.String}},
		ByColumn: map[string]typemap.Target{"shop.main.orders.nosuchcolumn": {Kind: typemap.String}, "shop.main.orders.note": {Kind: typemap.Binary}},
	})
	for _, strict := range []bool{false, true} {
		exp := newExporter(t)
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: "overrides", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(fmt.Sprint(t.Name(), strict)),
			ExportOnly: []string{"shop.orders"}, Options: &snapexport.TaskOptions{TypeMapper: mapper, Strict: strict}})
		require.NoError(t, err)
		rec, _ := task.Wait(context.Background())
		w, err := snapexport.ParseWarnings(rec.WarningMessage)
		require.NoError(t, err)
		var unused []string
		for _, g := range w.General {
			if g.Reason == snapexport.ReasonUnusedTypeOverride {
				unused = append(unused, g.Target)
			}
		}
		assert.ElementsMatch(t, []string{"no_such_type", "shop.main.orders.nosuchcolumn"}, unused, "strict=%v", strict)
		if strict {
			assert.Equal(t, snapexport.StatusFailed, rec.Status)
			assert.Contains(t, rec.FailureCause, `"no_such_type"`)
			assert.Zero(t, rec.ExportedRows, "refused before any row is read")
		} else {
			assert.Equal(t, snapexport.StatusComplete, rec.Status, rec.FailureCause)
		}
	}
}
