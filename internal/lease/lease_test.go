package lease_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
)

// TestJournalIsChunked: a run's journal grows by chunks, each write
// rewriting only the last one, so n intents write O(n) bytes; a later
// owner reads every key of every chunk, and of a journal written before
// chunks (one object per generation).
func TestJournalIsChunked(t *testing.T) {
	ctx := context.Background()
	mem := memsink.New(t.Name())
	l := layout.Layout{ID: "task-1"}
	first := lease.New(mem, l, time.Minute)
	require.NoError(t, first.Claim(ctx, 1))
	var want []string
	for i := range 1300 {
		k := fmt.Sprintf("task-1/db/s.t/1/part-%05d-x.parquet", i)
		want = append(want, k)
		require.NoError(t, first.Intend(ctx, k))
	}
	var chunks int
	var total int64
	for obj, err := range mem.List(ctx, l.JournalPrefix()) {
		require.NoError(t, err)
		chunks++
		total += obj.Size
	}
	assert.Equal(t, 3, chunks, "1300 keys in chunks of 512")
	assert.Less(t, total, int64(1300*60), "the journal holds each key once")

	legacy := "task-1/db/s.t/1/part-99999-old.parquet"
	require.NoError(t, sink.WriteObject(ctx, mem, "task-1/journal_task-1_1.json",
		[]byte(`{"generation":1,"runId":"dead","keys":["`+legacy+`"]}`), nil))
	next := lease.New(mem, l, time.Minute)
	require.NoError(t, next.Claim(ctx, 2))
	got, err := next.OlderKeys(ctx)
	require.NoError(t, err)
	assert.Len(t, got, len(want)+1)
	assert.Contains(t, got, legacy)
	assert.Subset(t, got, want)

	own, err := first.OlderKeys(ctx)
	require.NoError(t, err)
	assert.Empty(t, own, "a run never sweeps its own keys, nor a journal of its own generation or newer")
}

// TestRenewedRunKeepsItsJournal: a run that renewed its lease keeps
// writing its journal under its first generation, which every later owner
// reads.
func TestRenewedRunKeepsItsJournal(t *testing.T) {
	ctx := context.Background()
	mem := memsink.New(t.Name())
	l := layout.Layout{ID: "task-2"}
	run := lease.New(mem, l, 10*time.Millisecond) // a lease of 30 ms
	require.NoError(t, run.Claim(ctx, 1))
	require.NoError(t, run.Intend(ctx, "task-2/a"))
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, run.Fence(ctx), "an expired lease is renewed")
	assert.Equal(t, 2, run.Generation())
	require.NoError(t, run.Intend(ctx, "task-2/b"))

	owner, err := lease.Owner(ctx, mem, l, 2)
	require.NoError(t, err)
	assert.Equal(t, run.RunID(), owner, "the renewal is the same run's")
	_, err = lease.Owner(ctx, mem, l, 3)
	assert.ErrorIs(t, err, sink.ErrNotExist)
	taker := lease.New(mem, l, time.Minute)
	require.NoError(t, taker.Claim(ctx, 3))
	got, err := taker.OlderKeys(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"task-2/a", "task-2/b"}, got)
	assert.ErrorIs(t, run.Fence(ctx), lease.ErrLost)
}
