package snapexport_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
	"github.com/snapexport/snapexport/writer"
)

// demoDB returns the path of the demo database at the given scale, built
// once per test binary and shared: tests only read it.
func demoDB(t *testing.T, scale int) string {
	t.Helper()
	demoMu.Lock()
	defer demoMu.Unlock()
	if p, ok := demoPaths[scale]; ok {
		return p
	}
	path := filepath.Join(demoDir, fmt.Sprintf("scale%d", scale), "shop.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, demodb.Create(context.Background(), path, scale))
	demoPaths[scale] = path
	return path
}

var (
	demoMu    sync.Mutex
	demoPaths = map[int]string{}
	demoDir   string
)

func TestMain(m *testing.M) {
	var err error
	demoDir, err = os.MkdirTemp("", "snapexport-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	testenv.StopS3()
	os.RemoveAll(demoDir)
	os.Exit(code)
}

func newExporter(t *testing.T) *snapexport.Exporter {
	t.Helper()
	exp, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { exp.Close() })
	return exp
}

func waitComplete(t *testing.T, task *snapexport.Task) snapexport.ExportTask {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec, err := task.Wait(ctx)
	require.NoError(t, err, "failure cause: %s", rec.FailureCause)
	require.Equal(t, snapexport.StatusComplete, rec.Status)
	return rec
}

// TestExportSQLiteToDirectory is the end-to-end check of the core: the demo
// database exported to a directory, every file read back with DuckDB and
// compared value by value with SQLite, the layout and metadata as RDS has
// them.
func TestExportSQLiteToDirectory(t *testing.T) {
	verifyNoLeaks(t)
	dbPath := demoDB(t, 1)
	out := t.TempDir()
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "e2e-1",
		SourceArn:            "sqlite://" + dbPath,
		S3BucketName:         "file://" + out,
		S3Prefix:             "exports/daily",
		Options:              &snapexport.TaskOptions{Concurrency: 3},
	})
	require.NoError(t, err)
	assert.Equal(t, snapexport.StatusStarting, task.Info().Status)
	rec := waitComplete(t, task)

	assert.Equal(t, 100, rec.PercentProgress)
	assert.Equal(t, "sqlite://"+dbPath, rec.SourceArn)
	assert.Equal(t, "file://"+out, rec.S3Bucket)
	assert.Equal(t, "exports/daily", rec.S3Prefix)
	require.NotNil(t, rec.SnapshotTime)
	require.NotNil(t, rec.TaskEndTime)
	assert.Equal(t, 4, rec.TablesTotal) // odd_columns is skipped
	assert.Equal(t, 4, rec.TablesCompleted)
	var wantRows int64
	for name, n := range demodb.Tables {
		if name != demodb.SkippedTable {
			wantRows += int64(n)
		}
	}
	assert.Equal(t, wantRows, rec.ExportedRows)
	assert.Greater(t, rec.TotalExtractedDataInBytes, int64(0))

	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	require.NoError(t, err)
	require.Len(t, w.SkippedTables, 1)
	assert.Equal(t, "shop.main.odd_columns", w.SkippedTables[0].Target)
	assert.Equal(t, source.ReasonUnsupportedColumnName, w.SkippedTables[0].Reason)
	assert.Contains(t, w.SkippedTables[0].Detail, `"first name"`)

	root := filepath.Join(out, "exports", "daily", "e2e-1")
	var info manifest.ExportInfo
	readJSON(t, filepath.Join(root, "export_info_e2e-1.json"), &info)
	assert.Equal(t, "COMPLETE", info.Status)
	assert.Equal(t, 100, info.PercentProgress)
	assert.Equal(t, "e2e-1", info.ExportTaskIdentifier)
	var tables manifest.TablesInfo
	readJSON(t, filepath.Join(root, "export_tables_info_e2e-1_from_1_to_4.json"), &tables)
	require.Len(t, tables.PerTableStatus, 4)
	for _, ts := range tables.PerTableStatus {
		assert.Equal(t, "COMPLETE", ts.Status, ts.Target)
		assert.Equal(t, 1, ts.TableStatistics.PartitioningInfo.NumberOfPartitions)
		assert.Equal(t, 1, ts.TableStatistics.PartitioningInfo.NumberOfCompletedPartitions)
		assert.NotEmpty(t, ts.SchemaMetadata.OriginalTypeMappings)
	}

	src, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	require.NoError(t, err)
	defer src.Close()
	duck := duckdb(t)
	for table, n := range demodb.Tables {
		dir := filepath.Join(root, "shop", "main."+table, "1")
		if table == demodb.SkippedTable || n == 0 {
			_, err := os.Stat(dir)
			assert.True(t, os.IsNotExist(err), "%s: no files expected", table)
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, "part-00000-*.gz.parquet"))
		require.NoError(t, err)
		require.Len(t, files, 1, table)
		duck.CheckNullCounts(files[0])
		assert.Equal(t, int64(n), duck.Int("SELECT count(*) FROM read_parquet(?)", files[0]), table)
		compareWithSQLite(t, duck, src, table, files[0])
	}
}

// compareWithSQLite checks every value of the Parquet file against the
// SQLite table, both sides rendered as text in the same row order.
func compareWithSQLite(t *testing.T, duck *duckcheck.DB, src *sql.DB, table, file string) {
	t.Helper()
	cols := duck.Schema(file)
	var names []string
	for _, c := range cols {
		names = append(names, duckcheck.Ident(c.Name))
	}
	order := strings.Join(names, ", ")
	got := duck.Rows(fmt.Sprintf("SELECT %s FROM read_parquet(?) ORDER BY %s", order, order), file)
	rows, err := src.Query(fmt.Sprintf("SELECT %s FROM %q ORDER BY %s", order, table, order))
	require.NoError(t, err)
	defer rows.Close()
	i := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for j := range vals {
			ptrs[j] = &vals[j]
		}
		require.NoError(t, rows.Scan(ptrs...))
		require.Less(t, i, len(got), "%s: DuckDB has fewer rows", table)
		for j := range vals {
			assert.Equal(t, normalize(vals[j]), normalize(got[i][j]), "%s row %d column %s", table, i, cols[j].Name)
		}
		i++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, len(got), i, "%s: row count", table)
}

// normalize renders a value from either driver in one comparable form.
func normalize(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return fmt.Sprintf("%x", x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return fmt.Sprintf("%g", x)
	case float32:
		return fmt.Sprintf("%g", x)
	case int64, int32, int16, int8, int:
		return fmt.Sprintf("%d", x)
	case string:
		return fmt.Sprintf("%x", x) // as bytes: a BLOB read as text must still match
	case time.Time:
		// modernc.org/sqlite parses text in DATE columns; the file holds
		// the stored text, which for the demo's dates is YYYY-MM-DD.
		return fmt.Sprintf("%x", x.Format(time.DateOnly))
	}
	return fmt.Sprint(v)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), string(b))
}

// verifyNoLeaks checks, after every cleanup of the test has run (sources
// closed), that no goroutine the test started is left.
func verifyNoLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func duckdb(t *testing.T) *duckcheck.DB { return duckcheck.Open(t) }

// TestLayoutInMemory checks the keys of an export in a memsink: the RDS
// layout with the codec's extension, and the metadata files.
func TestLayoutInMemory(t *testing.T) {
	for _, codec := range []writer.Codec{writer.Gzip, writer.Snappy, writer.Zstd, writer.Uncompressed} {
		t.Run(codec.String(), func(t *testing.T) {
			mem := memsink.New(t.Name())
			exp := newExporter(t)
			task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
				ExportTaskIdentifier: "layout-1",
				SourceArn:            "sqlite://" + demoDB(t, 1),
				Sink:                 mem,
				S3Prefix:             "with space/and\"quote",
				Options:              &snapexport.TaskOptions{Compression: codec},
			})
			require.NoError(t, err)
			waitComplete(t, task)
			keys := mem.Keys()
			sort.Strings(keys)
			var data []string
			for _, k := range keys {
				if strings.HasSuffix(k, ".parquet") {
					data = append(data, k)
					assert.True(t, strings.HasSuffix(k, codec.Extension()), k)
					assert.Regexp(t, `^with_space/and_quote/layout-1/shop/main\.[a-z_]+/1/part-00000-[0-9a-f-]{36}`+strings.ReplaceAll(codec.Extension(), ".", `\.`)+`$`, k)
				}
			}
			assert.Len(t, data, 3) // customers, orders, events; empty_things has no rows
			assert.Contains(t, keys, "with_space/and_quote/layout-1/export_info_layout-1.json")
			assert.Contains(t, keys, "with_space/and_quote/layout-1/export_tables_info_layout-1_from_1_to_4.json")
		})
	}
}

// TestExportOnly checks the narrowing forms and the warning for entries
// that match nothing.
func TestExportOnly(t *testing.T) {
	dbPath := demoDB(t, 1)
	exp := newExporter(t)
	mem := memsink.New(t.Name())
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "only-1",
		SourceArn:            "sqlite://" + dbPath,
		Sink:                 mem,
		ExportOnly:           []string{"shop.orders", "shop.main.events", "shop.nosuchtable", "otherdb"},
	})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	assert.Equal(t, 2, rec.TablesTotal)
	var targets []string
	for _, ts := range rec.Tables {
		targets = append(targets, ts.Target)
	}
	assert.ElementsMatch(t, []string{"shop.main.orders", "shop.main.events"}, targets)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	require.NoError(t, err)
	var missing []string
	for _, o := range w.SkippedObjectives {
		missing = append(missing, o.Target)
		assert.Equal(t, source.ReasonNoMatch, o.Reason)
	}
	assert.ElementsMatch(t, []string{"shop.nosuchtable", "otherdb"}, missing)
}

func TestBadInput(t *testing.T) {
	dbPath := demoDB(t, 1)
	notSQLite := filepath.Join(t.TempDir(), "notes.db")
	require.NoError(t, os.WriteFile(notSQLite, []byte("this is not a database, just some text that is long enough to have a header"), 0o644))
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	good := func() snapexport.StartExportTaskInput {
		return snapexport.StartExportTaskInput{ExportTaskIdentifier: "ok-1", SourceArn: "sqlite://" + dbPath, S3BucketName: "mem://badinput"}
	}
	cases := []struct {
		name    string
		edit    func(*snapexport.StartExportTaskInput)
		fault   error
		mention string
	}{
		{"empty identifier", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "" }, snapexport.ErrInvalidParameterValue, "required"},
		{"leading digit", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "1abc" }, snapexport.ErrInvalidParameterValue, `"1abc"`},
		{"double hyphen", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "a--b" }, snapexport.ErrInvalidParameterValue, "two consecutive hyphens"},
		{"trailing hyphen", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "ab-" }, snapexport.ErrInvalidParameterValue, "ends with a hyphen"},
		{"non-ascii", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "caf\u00e9" }, snapexport.ErrInvalidParameterValue, "'é'"},
		{"underscore", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "a_b" }, snapexport.ErrInvalidParameterValue, "'_'"},
		{"too long", func(in *snapexport.StartExportTaskInput) { in.ExportTaskIdentifier = "a" + strings.Repeat("b", 60) }, snapexport.ErrInvalidParameterValue, "61 characters"},
		{"export-only empty", func(in *snapexport.StartExportTaskInput) { in.ExportOnly = []string{""} }, snapexport.ErrInvalidExportOnly, "empty"},
		{"export-only too many dots", func(in *snapexport.StartExportTaskInput) { in.ExportOnly = []string{"a.b.c.d"} }, snapexport.ErrInvalidExportOnly, `"a.b.c.d"`},
		{"export-only empty part", func(in *snapexport.StartExportTaskInput) { in.ExportOnly = []string{"a..c"} }, snapexport.ErrInvalidExportOnly, `"a..c"`},
		{"export-only bad character", func(in *snapexport.StartExportTaskInput) { in.ExportOnly = []string{"shop.my-table"} }, snapexport.ErrInvalidExportOnly, `"my-table"`},
		{"export-only too big", func(in *snapexport.StartExportTaskInput) {
			in.ExportOnly = []string{strings.Repeat("a", 100*1024), strings.Repeat("b", 100*1024+1)}
		}, snapexport.ErrInvalidExportOnly, "limit"},
		{"prefix with colon", func(in *snapexport.StartExportTaskInput) { in.S3Prefix = "a:b" }, snapexport.ErrInvalidParameterValue, `"a:b"`},
		{"unknown source scheme", func(in *snapexport.StartExportTaskInput) { in.SourceArn = "oracle://db" }, snapexport.ErrSourceNotFound, `"oracle"`},
		{"unknown sink scheme", func(in *snapexport.StartExportTaskInput) { in.S3BucketName = "ftp://host/x" }, snapexport.ErrInvalidS3Bucket, `"ftp"`},
		{"missing sqlite file", func(in *snapexport.StartExportTaskInput) { in.SourceArn = "sqlite:///no/such/dir/x.db" }, snapexport.ErrSourceNotFound, "/no/such/dir/x.db"},
		{"not a sqlite file", func(in *snapexport.StartExportTaskInput) { in.SourceArn = "sqlite://" + notSQLite }, snapexport.ErrSourceNotFound, notSQLite},
		{"directory cannot be created", func(in *snapexport.StartExportTaskInput) { in.S3BucketName = "file://" + blocker + "/sub" }, snapexport.ErrInvalidS3Bucket, blocker},
		{"no source", func(in *snapexport.StartExportTaskInput) { in.SourceArn = "" }, snapexport.ErrInvalidParameterValue, "SourceArn"},
		{"no destination", func(in *snapexport.StartExportTaskInput) { in.S3BucketName = "" }, snapexport.ErrInvalidParameterValue, "S3BucketName"},
		{"gzip level 10", func(in *snapexport.StartExportTaskInput) {
			in.Options = &snapexport.TaskOptions{CompressionLevel: 10}
		}, snapexport.ErrInvalidParameterValue, "gzip level 10 is outside 1..9"},
		{"snappy level", func(in *snapexport.StartExportTaskInput) {
			in.Options = &snapexport.TaskOptions{Compression: writer.Snappy, CompressionLevel: 1}
		}, snapexport.ErrInvalidParameterValue, "no levels"},
	}
	exp := newExporter(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good()
			c.edit(&in)
			task, err := exp.StartExportTask(context.Background(), in)
			require.Error(t, err)
			assert.Nil(t, task)
			assert.ErrorIs(t, err, c.fault)
			assert.Contains(t, err.Error(), c.mention)
			assert.True(t, strings.HasPrefix(err.Error(), "snapexport: "), err.Error())
		})
	}
}

func TestExportOnlyThreePartsOnMySQLStyleEngines(t *testing.T) {
	// SQLite takes database.main.table; the three-part form is refused only
	// for engines without schemas, tested with their drivers.
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "three-1", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(t.Name()),
		ExportOnly: []string{"shop.main.orders"},
	})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	assert.Equal(t, 1, rec.TablesTotal)
}

func TestIdentifierAlreadyExists(t *testing.T) {
	dbPath := demoDB(t, 1)
	mem := memsink.New(t.Name())
	exp := newExporter(t)
	in := snapexport.StartExportTaskInput{ExportTaskIdentifier: "dup-1", SourceArn: "sqlite://" + dbPath, Sink: mem}
	task, err := exp.StartExportTask(context.Background(), in)
	require.NoError(t, err)
	waitComplete(t, task)
	_, err = exp.StartExportTask(context.Background(), in)
	assert.ErrorIs(t, err, snapexport.ErrExportTaskAlreadyExists)

	// A second exporter (another process) sees the record in the destination.
	other := newExporter(t)
	_, err = other.StartExportTask(context.Background(), in)
	assert.ErrorIs(t, err, snapexport.ErrExportTaskAlreadyExists)
	assert.Contains(t, err.Error(), "export_info_dup-1.json")
}

func TestCancelUnknownAndFinished(t *testing.T) {
	exp := newExporter(t)
	_, err := exp.CancelExportTask(context.Background(), "nope")
	assert.ErrorIs(t, err, snapexport.ErrExportTaskNotFound)
	assert.Contains(t, err.Error(), `"nope"`)

	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "done-1", SourceArn: "sqlite://" + demoDB(t, 1), Sink: memsink.New(t.Name()),
	})
	require.NoError(t, err)
	waitComplete(t, task)
	_, err = exp.CancelExportTask(context.Background(), "done-1")
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportTaskState)
	assert.Contains(t, err.Error(), "COMPLETE")
}

// gatedSource wraps a real source so that scans wait at their first row
// until the gate opens: tests can hold tasks IN_PROGRESS for as long as they
// need without depending on timing.
type gatedSource struct {
	source.Source
	identity string
	gate     chan struct{}
	free     string // a table whose scans pass the gate
}

func (g *gatedSource) Identity() string { return g.identity }

func (g *gatedSource) Snapshot(ctx context.Context, o source.SnapshotOptions) (source.Snapshot, error) {
	s, err := g.Source.Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	return &gatedSnapshot{Snapshot: s, gate: g.gate, free: g.free}, nil
}

type gatedSnapshot struct {
	source.Snapshot
	gate chan struct{}
	free string
}

func (g *gatedSnapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	r, err := g.Snapshot.Scan(ctx, req)
	if err != nil || req.Table.Name == g.free {
		return r, err
	}
	return &gatedRows{Rows: r, ctx: ctx, gate: g.gate}, nil
}

type gatedRows struct {
	source.Rows
	ctx    context.Context
	gate   chan struct{}
	passed bool
	err    error
}

func (g *gatedRows) Next() bool {
	if !g.passed {
		select {
		case <-g.gate:
			g.passed = true
		case <-g.ctx.Done():
			g.err = g.ctx.Err()
			return false
		}
	}
	return g.Rows.Next()
}

func (g *gatedRows) Err() error {
	if g.err != nil {
		return g.err
	}
	return g.Rows.Err()
}

func openGated(t *testing.T, identity string) *gatedSource {
	t.Helper()
	src, err := sqlitesource.Open(context.Background(), demoDB(t, 1), nil)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return &gatedSource{Source: src, identity: identity, gate: make(chan struct{})}
}

func waitStatus(t *testing.T, task *snapexport.Task, want snapexport.Status) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for task.Info().Status != want {
		require.True(t, time.Now().Before(deadline), "task stuck in %s, want %s", task.Info().Status, want)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCancelKeepsFinishedAndHidesPartial(t *testing.T) {
	verifyNoLeaks(t)
	src := openGated(t, "gated://cancel")
	src.free = "events"
	mem := memsink.New(t.Name())
	exp, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "cancel-1", Source: src, Sink: mem, Options: &snapexport.TaskOptions{Concurrency: 4},
	})
	require.NoError(t, err)
	waitStatus(t, task, snapexport.StatusInProgress)
	// events passes the gate; wait until its file is published.
	deadline := time.Now().Add(time.Minute)
	for task.Info().TablesCompleted < 1 { // events; the other scans wait at the gate
		require.True(t, time.Now().Before(deadline), "events never finished")
		time.Sleep(5 * time.Millisecond)
	}

	rec, err := exp.CancelExportTask(context.Background(), "cancel-1")
	require.NoError(t, err)
	assert.Equal(t, snapexport.StatusCanceling, rec.Status)
	final, err := task.Wait(context.Background())
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, snapexport.StatusCanceled, final.Status)
	require.NotNil(t, final.TaskEndTime)

	var data []string
	for _, k := range mem.Keys() {
		if strings.HasSuffix(k, ".parquet") {
			data = append(data, k)
		}
	}
	require.Len(t, data, 1, "only the finished table's file stays: %v", data)
	assert.Contains(t, data[0], "cancel-1/shop/main.events/1/part-00000-")
	var info manifest.ExportInfo
	b, ok := mem.Bytes("cancel-1/export_info_cancel-1.json")
	require.True(t, ok)
	require.NoError(t, json.Unmarshal(b, &info))
	assert.Equal(t, "CANCELED", info.Status)

	_, err = exp.CancelExportTask(context.Background(), "cancel-1")
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportTaskState)
	require.NoError(t, exp.Close())
}

func TestContextCancelCancelsTask(t *testing.T) {
	verifyNoLeaks(t)
	src := openGated(t, "gated://ctx")
	exp, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "ctx-1", Source: src, Sink: memsink.New(t.Name()),
	})
	require.NoError(t, err)
	progress := task.Progress()
	waitStatus(t, task, snapexport.StatusInProgress)
	cancel()
	rec, err := task.Wait(context.Background())
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, snapexport.StatusCanceled, rec.Status)
	var last snapexport.Progress
	for p := range progress {
		last = p
	}
	assert.Equal(t, snapexport.StatusCanceled, last.Status, "the final value is always delivered")
	require.NoError(t, exp.Close())
}

func TestCloseCancelsRunningTasks(t *testing.T) {
	verifyNoLeaks(t)
	exp, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	var tasks []*snapexport.Task
	for i := 0; i < 3; i++ {
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: fmt.Sprintf("close-%d", i), Source: openGated(t, fmt.Sprintf("gated://close/%d", i)), Sink: memsink.New(t.Name()),
		})
		require.NoError(t, err)
		tasks = append(tasks, task)
	}
	require.NoError(t, exp.Close())
	for _, task := range tasks {
		select {
		case <-task.Done():
		default:
			t.Fatal("Close returned before its tasks ended")
		}
		assert.Equal(t, snapexport.StatusCanceled, task.Info().Status)
	}
	_, err = exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "after-close", Source: openGated(t, "gated://after"), Sink: memsink.New(t.Name()),
	})
	assert.ErrorIs(t, err, snapexport.ErrClosed)
}

func TestLimits(t *testing.T) {
	exp := newExporter(t)
	sources := make([]*gatedSource, 6)
	for i := range sources {
		sources[i] = openGated(t, fmt.Sprintf("gated://limit/%d", i))
	}
	defer func() {
		for _, s := range sources {
			close(s.gate)
		}
	}()
	for i := 0; i < 5; i++ {
		_, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: fmt.Sprintf("limit-%d", i), Source: sources[i], Sink: memsink.New(t.Name()),
		})
		require.NoError(t, err)
	}
	_, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "limit-5", Source: sources[5], Sink: memsink.New(t.Name()),
	})
	assert.ErrorIs(t, err, snapexport.ErrTooManyExportTasks)
	assert.Contains(t, err.Error(), "5 export tasks are already running")

	// One running task per source.
	exp2 := newExporter(t)
	_, err = exp2.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "same-1", Source: sources[5], Sink: memsink.New(t.Name()),
	})
	require.NoError(t, err)
	_, err = exp2.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "same-2", Source: sources[5], Sink: memsink.New(t.Name()),
	})
	assert.ErrorIs(t, err, snapexport.ErrInvalidExportSourceState)
	assert.Contains(t, err.Error(), "gated://limit/5")
}

// TestProgressNeverBlocks holds a subscription without reading it during the
// whole export: the export must finish, and the reader then gets the final
// value and a closed channel.
func TestProgressNeverBlocks(t *testing.T) {
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "progress-1", SourceArn: "sqlite://" + demoDB(t, 3), Sink: memsink.New(t.Name()),
		Options: &snapexport.TaskOptions{Concurrency: 1},
	})
	require.NoError(t, err)
	slow := task.Progress()
	fast := task.Progress()
	var seen []snapexport.Progress
	for p := range fast {
		seen = append(seen, p)
	}
	rec := waitComplete(t, task)
	require.NotEmpty(t, seen)
	for i := 1; i < len(seen); i++ {
		assert.GreaterOrEqual(t, seen[i].PercentProgress, seen[i-1].PercentProgress, "percent never goes backwards")
		assert.GreaterOrEqual(t, seen[i].Rows, seen[i-1].Rows, "rows are cumulative")
	}
	final := seen[len(seen)-1]
	assert.Equal(t, snapexport.StatusComplete, final.Status)
	assert.Equal(t, 100, final.PercentProgress)
	assert.Equal(t, rec.ExportedRows, final.Rows)
	for _, p := range seen[:len(seen)-1] {
		assert.Less(t, p.PercentProgress, 100, "100 only on COMPLETE")
	}

	var slowSeen []snapexport.Progress
	for p := range slow {
		slowSeen = append(slowSeen, p)
	}
	require.Len(t, slowSeen, 1, "an unread subscription holds only the newest value")
	assert.Equal(t, snapexport.StatusComplete, slowSeen[0].Status)

	late := task.Progress()
	p, ok := <-late
	assert.True(t, ok)
	assert.Equal(t, snapexport.StatusComplete, p.Status)
	_, ok = <-late
	assert.False(t, ok)
}

func TestDescribeExportTasks(t *testing.T) {
	exp := newExporter(t)
	dbPath := demoDB(t, 1)
	for i := 0; i < 25; i++ {
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: fmt.Sprintf("desc-%02d", i), SourceArn: "sqlite://" + dbPath, Sink: memsink.New(t.Name()),
			ExportOnly: []string{"shop.empty_things"},
		})
		require.NoError(t, err)
		waitComplete(t, task)
	}
	ctx := context.Background()
	out, err := exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "desc-03"})
	require.NoError(t, err)
	require.Len(t, out.ExportTasks, 1)
	assert.Equal(t, "desc-03", out.ExportTasks[0].ExportTaskIdentifier)

	// As RDS: describing an identifier nobody has is ExportTaskNotFound.
	_, err = exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: "missing"})
	assert.ErrorIs(t, err, snapexport.ErrExportTaskNotFound)

	// Pagination: 25 tasks in pages of 20, no duplicates, nothing lost.
	seen := map[string]bool{}
	marker := ""
	pages := 0
	for {
		out, err = exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{MaxRecords: 20, Marker: marker,
			Filters: []snapexport.Filter{{Name: "status", Values: []string{"complete"}}}})
		require.NoError(t, err)
		pages++
		for _, tk := range out.ExportTasks {
			assert.False(t, seen[tk.ExportTaskIdentifier], "duplicate %s", tk.ExportTaskIdentifier)
			seen[tk.ExportTaskIdentifier] = true
		}
		if out.Marker == "" {
			break
		}
		marker = out.Marker
	}
	assert.Equal(t, 2, pages)
	assert.Len(t, seen, 25)

	out, err = exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{
		Filters: []snapexport.Filter{{Name: "source-arn", Values: []string{"sqlite://" + dbPath}}, {Name: "export-task-identifier", Values: []string{"desc-01", "desc-02"}}}})
	require.NoError(t, err)
	assert.Len(t, out.ExportTasks, 2)
	out, err = exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{Filters: []snapexport.Filter{{Name: "status", Values: []string{"failed"}}}})
	require.NoError(t, err)
	assert.Empty(t, out.ExportTasks)
	out, err = exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{SourceArn: "sqlite://" + dbPath, MaxRecords: 100})
	require.NoError(t, err)
	assert.Len(t, out.ExportTasks, 25)

	for _, bad := range []snapexport.DescribeExportTasksInput{
		{Filters: []snapexport.Filter{{Name: "engine", Values: []string{"x"}}}},
		{Filters: []snapexport.Filter{{Name: "status", Values: []string{"COMPLETE"}}}},
		{MaxRecords: 19},
		{MaxRecords: 101},
		{Marker: "!!!"},
	} {
		_, err := exp.DescribeExportTasks(ctx, bad)
		assert.ErrorIs(t, err, snapexport.ErrInvalidParameterValue, "%+v", bad)
	}
}

// TestFailedPartitionLeavesNothing makes a scan fail on a value over the
// size limit: the task FAILS with a cause naming table and column, and no
// data file of that table is visible.
func TestFailedPartitionLeavesNothing(t *testing.T) {
	mem := memsink.New(t.Name())
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "big-1", SourceArn: "sqlite://" + demoDB(t, 1), Sink: mem,
		ExportOnly: []string{"shop.orders"},
		Options:    &snapexport.TaskOptions{MaxValueBytes: 20},
	})
	require.NoError(t, err)
	rec, err := task.Wait(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, snapexport.ErrExportFailed)
	var big *source.ValueTooLargeError
	assert.True(t, errors.As(err, &big), "the driver error stays reachable: %v", err)
	assert.Equal(t, snapexport.StatusFailed, rec.Status)
	assert.Contains(t, rec.FailureCause, "note")
	assert.Contains(t, rec.FailureCause, "shop.main.orders")
	for _, k := range mem.Keys() {
		assert.False(t, strings.HasSuffix(k, ".parquet"), "no data file may be visible: %s", k)
	}
	b, ok := mem.Bytes("big-1/export_info_big-1.json")
	require.True(t, ok)
	var info manifest.ExportInfo
	require.NoError(t, json.Unmarshal(b, &info))
	assert.Equal(t, "FAILED", info.Status)
	assert.Equal(t, rec.FailureCause, info.FailureCause)
}

// TestPassedOpenDrivers checks that drivers given to the task are used and
// not closed by it.
func TestPassedOpenDrivers(t *testing.T) {
	src, err := sqlitesource.Open(context.Background(), demoDB(t, 1), nil)
	require.NoError(t, err)
	defer src.Close()
	dir, err := dirsink.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer dir.Close()
	exp := newExporter(t)
	for i := 0; i < 2; i++ {
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: fmt.Sprintf("open-%d", i), Source: src, Sink: dir, SourceArn: "ignored://", S3BucketName: "ignored://",
		})
		require.NoError(t, err)
		waitComplete(t, task)
	}
	n := 0
	for o, err := range dir.List(context.Background(), "open-1/") {
		require.NoError(t, err)
		if strings.HasSuffix(o.Key, ".parquet") {
			n++
		}
	}
	assert.Equal(t, 3, n)
}

var _ sink.Sink = (*memsink.Sink)(nil)

// TestRolledFilesGoToBatchFolders: a table read by one worker rolls its
// files into batch folders 1, 2, … (RDS's layout for tables it cannot
// split), and the files together hold the table exactly once.
func TestRolledFilesGoToBatchFolders(t *testing.T) {
	out := t.TempDir()
	exp := newExporter(t)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "roll-1", SourceArn: "sqlite://" + demoDB(t, 1), S3BucketName: "file://" + out,
		ExportOnly: []string{"shop.orders"},
		Options:    &snapexport.TaskOptions{TargetFileBytes: 8 << 10, RowGroupBytes: 4 << 10},
	})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	dirs, err := filepath.Glob(filepath.Join(out, "roll-1", "shop", "main.orders", "*"))
	require.NoError(t, err)
	require.Greater(t, len(dirs), 2, "several batch folders")
	for i := range dirs {
		files, _ := filepath.Glob(filepath.Join(out, "roll-1", "shop", "main.orders", fmt.Sprint(i+1), "part-00000-*.gz.parquet"))
		assert.Len(t, files, 1, "batch %d", i+1)
	}
	duck := duckdb(t)
	glob := filepath.Join(out, "roll-1", "shop", "main.orders", "*", "*.parquet")
	assert.Equal(t, int64(10000), duck.Int("SELECT count(*) FROM read_parquet(?)", glob))
	assert.Equal(t, int64(10000), duck.Int("SELECT count(DISTINCT order_id) FROM read_parquet(?)", glob))
	assert.Equal(t, int64(10000), rec.ExportedRows)
	assert.Equal(t, len(dirs), rec.Tables[0].Files)
}
