package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// scriptedSnapshot serves the rows of its script and records every scan
// request; failAt > 0 makes a scan fail after that many rows.
type scriptedSnapshot struct {
	rows   [][]parquet.Value
	failAt int

	mu   sync.Mutex
	reqs []source.ScanRequest
}

func (s *scriptedSnapshot) Info() source.SnapshotInfo {
	return source.SnapshotInfo{ID: map[string]string{"script": "1"}}
}
func (s *scriptedSnapshot) Tables(context.Context, source.Filter) ([]source.Table, []source.Skipped, error) {
	return nil, nil, nil
}
func (s *scriptedSnapshot) Close() error { return nil }
func (s *scriptedSnapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	return &scriptedRows{ctx: ctx, s: s, i: -1}, nil
}

type scriptedRows struct {
	ctx context.Context
	s   *scriptedSnapshot
	i   int
	err error
}

func (r *scriptedRows) Next() bool {
	if r.err != nil || r.i+1 >= len(r.s.rows) {
		return false
	}
	if r.err = r.ctx.Err(); r.err != nil {
		return false
	}
	r.i++
	if r.s.failAt > 0 && r.i == r.s.failAt {
		r.err = errors.New("scripted: the connection broke")
		return false
	}
	return true
}
func (r *scriptedRows) Row(dst []parquet.Value) ([]parquet.Value, error) {
	return append(dst, r.s.rows[r.i]...), nil
}
func (r *scriptedRows) Err() error   { return r.err }
func (r *scriptedRows) Close() error { return nil }

// recordingFence passes (or, lost, fails) and records every intent.
type recordingFence struct {
	mu      sync.Mutex
	intents []string
	lost    bool
}

func (f *recordingFence) Fence(context.Context) error {
	if f.lost {
		return fmt.Errorf("%w (generation 3)", lease.ErrLost)
	}
	return nil
}
func (f *recordingFence) Intend(_ context.Context, key string) error {
	f.mu.Lock()
	f.intents = append(f.intents, key)
	f.mu.Unlock()
	return nil
}
func (f *recordingFence) Generation() int { return 2 }

func scriptRows(n int) [][]parquet.Value {
	rows := make([][]parquet.Value, n)
	for i := range rows {
		name := parquet.ByteArrayValue([]byte(fmt.Sprintf("name-%d %s", i, strings.Repeat("x", i%50))))
		if i%7 == 0 {
			name = parquet.NullValue()
		}
		rows[i] = []parquet.Value{parquet.Int64Value(int64(i)).Level(0, 0, 0), name.Level(0, boolLevel(i%7 != 0), 1)}
	}
	return rows
}

func boolLevel(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spec is a part description as a coordinator would put it on a queue.
func spec(t *testing.T) engine.PartSpec {
	lo, hi := int64(100), int64(5000)
	table := source.Table{Database: "db", Schema: "public", Name: "people",
		Columns: []source.Column{{Name: "id", DataType: "bigint"}, {Name: "name", DataType: "text", Nullable: true}}}
	return engine.PartSpec{
		TaskID: "task-1", Prefix: "pre", Generation: 2, Table: table,
		Columns: []source.ScanColumn{
			{Column: table.Columns[0], Target: typemap.Target{Kind: typemap.Int64}},
			{Column: table.Columns[1], Target: typemap.Target{Kind: typemap.String}},
		},
		Dir:      "pre/task-1/db/public.people",
		Part:     plan.Part{Batch: 1, Index: 3, Range: &source.KeyRange{Column: "id", Lower: &lo, Upper: &hi, LowerBytes: nil}},
		Writer:   engine.WriterSettings{Codec: writer.Snappy, RowGroupBytes: 64 << 10, TargetFileBytes: 1 << 30, MaxValueBytes: 1 << 20, TypeProfile: "rds"},
		Snapshot: map[string]string{"script": "1"},
	}
}

// roundTrip is the spec after JSON, as a worker receives it.
func roundTrip(t *testing.T, s engine.PartSpec) engine.PartSpec {
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back engine.PartSpec
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, back, "a part description must survive serialisation exactly")
	return back
}

func env(snap source.Snapshot, s sink.Sink, f engine.Fence) engine.PartEnv {
	return engine.PartEnv{Snapshot: snap, Sink: s, Fence: f, Budget: engine.NewBudget(16 << 20)}
}

// TestRunPartFromItsDescription: a part described, serialised and run on
// its own, with no task around it, writes exactly the script's rows to a
// file under its table's folder, intended before it opened, read back by
// DuckDB with the values, NULLs and the file's metadata.
func TestRunPartFromItsDescription(t *testing.T) {
	ctx := context.Background()
	sp := roundTrip(t, spec(t))
	snap := &scriptedSnapshot{rows: scriptRows(3000)}
	mem := memsink.New(t.Name())
	fence := &recordingFence{}
	var rows, bytes int64
	e := env(snap, mem, fence)
	e.OnRows = func(n int64) { rows += n }
	e.OnBytes = func(n int64) { bytes += n }

	res, err := engine.RunPart(ctx, e, sp)
	require.NoError(t, err)
	assert.Equal(t, int64(3000), res.Rows)
	assert.Equal(t, int64(3000), rows, "progress reports every row")
	require.Len(t, res.Files, 1)
	assert.Equal(t, fence.intents, res.Files, "every file is intended before it opens")
	assert.True(t, strings.HasPrefix(res.Files[0], "pre/task-1/db/public.people/1/part-00003-"), res.Files[0])
	assert.True(t, strings.HasSuffix(res.Files[0], ".snappy.parquet") || strings.HasSuffix(res.Files[0], ".parquet"), res.Files[0])
	require.Len(t, snap.reqs, 1)
	assert.Equal(t, sp.Part.Range, snap.reqs[0].Range, "the scan reads the described range")
	assert.Equal(t, sp.Columns, snap.reqs[0].Columns)

	data, err := sink.ReadObject(ctx, mem, res.Files[0])
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), res.Bytes)
	assert.Equal(t, res.Bytes, bytes)
	path := filepath.Join(t.TempDir(), "part.parquet")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	db := duckcheck.Open(t)
	assert.Equal(t, int64(3000), db.Int(`SELECT count(*) FROM read_parquet(?)`, path))
	assert.Equal(t, int64(3000*2999/2), db.Int(`SELECT sum(id) FROM read_parquet(?)`, path))
	assert.Equal(t, int64(3000/7+1), db.Int(`SELECT count(*) FROM read_parquet(?) WHERE name IS NULL`, path))
	assert.Equal(t, int64(1), db.Int(`SELECT count(*) FROM read_parquet(?) WHERE id = 12 AND name = 'name-12 xxxxxxxxxxxx'`, path))
	assert.Equal(t, int64(1), db.Int(`SELECT count(*) FROM parquet_kv_metadata(?) WHERE decode(key) = 'snapexport.export_task' AND decode(value) = 'task-1'`, path))
}

// TestRunPartFailureLeavesNothing: a scan that breaks after several files
// were published deletes them all; the error names the table and the part.
func TestRunPartFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	sp := spec(t)
	sp.Writer.TargetFileBytes = 8 << 10 // several files before the failure
	sp.Writer.RowGroupBytes = 4 << 10
	snap := &scriptedSnapshot{rows: scriptRows(20000), failAt: 15000}
	mem := memsink.New(t.Name())
	fence := &recordingFence{}
	res, err := engine.RunPart(ctx, env(snap, mem, fence), sp)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Failed to export table db.public.people key range id in [100, 5000) (batch 1, partition 3)")
	assert.Greater(t, len(fence.intents), 1, "the part had rolled to several files")
	assert.Empty(t, res.Files)
	assertEmpty(t, mem)
}

// TestRunPartCanceledKeepsPublished: a part cancelled with its task keeps
// the files it published, and says which.
func TestRunPartCanceledKeepsPublished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sp := spec(t)
	sp.Writer.TargetFileBytes = 8 << 10
	sp.Writer.RowGroupBytes = 4 << 10
	mem := memsink.New(t.Name())
	e := env(&scriptedSnapshot{rows: scriptRows(20000)}, mem, &recordingFence{})
	var seen int64
	e.OnRows = func(n int64) {
		if seen += n; seen > 10000 {
			cancel()
		}
	}
	e.Canceled = func() bool { return ctx.Err() != nil }
	res, err := engine.RunPart(ctx, e, sp)
	require.ErrorIs(t, err, context.Canceled)
	require.NotEmpty(t, res.Files)
	for _, k := range res.Files {
		_, err := sink.ReadObject(context.Background(), mem, k)
		assert.NoError(t, err, "published file %s stays", k)
	}
	assert.Len(t, listAll(t, mem), len(res.Files), "only the published files stay: the one in flight was aborted")
}

// TestRunPartLostLeasePublishesNothing: a part whose task was taken over
// publishes nothing, and deletes nothing either: the new owner sweeps what
// the journal names.
func TestRunPartLostLeasePublishesNothing(t *testing.T) {
	mem := memsink.New(t.Name())
	fence := &recordingFence{lost: true}
	res, err := engine.RunPart(context.Background(), env(&scriptedSnapshot{rows: scriptRows(100)}, mem, fence), spec(t))
	require.ErrorIs(t, err, lease.ErrLost)
	assert.Empty(t, res.Files)
	assert.Len(t, fence.intents, 1, "the file was intended, then refused at its publish")
	assertEmpty(t, mem)
}

func listAll(t *testing.T, s sink.Sink) []string {
	var keys []string
	for obj, err := range s.List(context.Background(), "") {
		require.NoError(t, err)
		keys = append(keys, obj.Key)
	}
	return keys
}

func assertEmpty(t *testing.T, s sink.Sink) {
	t.Helper()
	assert.Empty(t, listAll(t, s), "nothing of the part is visible")
}
