package sourcetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Harness gives the suite a database to test a driver on.
type Harness interface {
	// Open returns a new Source on the test database.
	Open(ctx context.Context) (source.Source, error)
	// Exec runs one statement in autocommit mode, on a connection outside
	// any snapshot of the Sources Open returns.
	Exec(ctx context.Context, sql string) error
	// Database is the database the test tables live in, as Table.Database
	// reports it.
	Database() string
	// Schema is the schema the test tables live in, as Table.Schema reports
	// it: "public" (PostgreSQL), "main" (SQLite), Database() (MySQL).
	Schema() string
	// QuoteIdent quotes an identifier for the engine's SQL.
	QuoteIdent(name string) string
	// Close releases the harness; the suite has dropped its tables.
	Close()
}

// HarnessMaker makes a harness for one subtest. It skips t (through
// internal/testenv) when the database is not available.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// BinaryHarness is implemented by harnesses whose engine has a binary column
// type; the suite then checks Binary values too.
type BinaryHarness interface {
	// BinaryType is a column type holding arbitrary bytes: "BYTEA",
	// "VARBINARY(64)", "BLOB".
	BinaryType() string
	// BinaryLiteral is an SQL literal of b for that type: X'00ff',
	// '\x00ff'::bytea.
	BinaryLiteral(b []byte) string
}

// WriteHarness is implemented by harnesses that can reach the connections a
// Source and its Snapshot read through (through the driver's test hooks);
// the suite then checks that none of them can write: the source is only
// read.
type WriteHarness interface {
	// WriteThrough runs stmt on every connection src and snap hold or hand
	// out (the source's pool and each snapshot connection) without
	// disturbing the snapshot, and returns one result per connection tried:
	// nil where the statement went through.
	WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error)
}

// RunConformanceTests runs the suite. Each subtest makes its own harness,
// opens its own Source, and drops what it creates.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	tests := []struct {
		name string
		fn   func(*fixture)
	}{
		{"Identity", testIdentity},
		{"Describe", testDescribe},
		{"FullScan", testFullScan},
		{"Projection", testProjection},
		{"EmptyTable", testEmptyTable},
		{"MixedCaseIdentifiers", testMixedCase},
		{"KeyRanges", testKeyRanges},
		{"Cancel", testCancel},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"MaxValueBytes", testMaxValueBytes},
		{"RowsCloseTwice", testRowsCloseTwice},
		{"SnapshotInfo", testSnapshotInfo},
		{"ReadOnly", testReadOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			t.Cleanup(cancel)
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("sourcetest: making harness: %v", err)
			}
			t.Cleanup(h.Close)
			src, err := h.Open(ctx)
			if err != nil {
				t.Fatalf("sourcetest: Open: %v", err)
			}
			t.Cleanup(func() {
				if err := src.Close(); err != nil {
					t.Errorf("Source.Close: %v", err)
				}
			})
			tc.fn(&fixture{t: t, ctx: ctx, h: h, src: src, prefix: "sct_" + randomHex(3) + "_"})
		})
	}
}

// fixture is one subtest's world. Everything it creates is released by
// t.Cleanup in reverse order: rows, then snapshots, then dropped tables.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	h      Harness
	src    source.Source
	prefix string
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (f *fixture) name(base string) string { return f.prefix + base }

func (f *fixture) q(name string) string { return f.h.QuoteIdent(name) }

func (f *fixture) exec(sql string) {
	f.t.Helper()
	if err := f.h.Exec(f.ctx, sql); err != nil {
		f.t.Fatalf("Exec(%s): %v", abbreviate(sql), err)
	}
}

// createTable creates a table of the given columns ("name TYPE ...", names
// unquoted and quoted here) and drops it when the subtest ends.
func (f *fixture) createTable(table string, columns ...string) {
	f.t.Helper()
	defs := make([]string, len(columns))
	for i, c := range columns {
		name, rest, _ := strings.Cut(c, " ")
		defs[i] = f.q(name) + " " + rest
	}
	// Register the drop first: a CREATE that half-failed still gets cleaned.
	f.t.Cleanup(func() {
		if err := f.h.Exec(context.Background(), "DROP TABLE IF EXISTS "+f.q(table)); err != nil {
			f.t.Errorf("dropping %s: %v", table, err)
		}
	})
	f.exec("CREATE TABLE " + f.q(table) + " (" + strings.Join(defs, ", ") + ")")
}

// insert inserts rows of SQL literals into the named columns.
func (f *fixture) insert(table string, columns []string, rows ...[]string) {
	f.t.Helper()
	qc := make([]string, len(columns))
	for i, c := range columns {
		qc[i] = f.q(c)
	}
	vals := make([]string, len(rows))
	for i, r := range rows {
		vals[i] = "(" + strings.Join(r, ", ") + ")"
	}
	f.exec("INSERT INTO " + f.q(table) + " (" + strings.Join(qc, ", ") + ") VALUES " + strings.Join(vals, ", "))
}

func (f *fixture) snapshot(opts source.SnapshotOptions) source.Snapshot {
	f.t.Helper()
	snap, err := f.src.Snapshot(f.ctx, opts)
	if err != nil {
		f.t.Fatalf("Snapshot: %v", err)
	}
	f.t.Cleanup(func() {
		if err := snap.Close(); err != nil {
			f.t.Errorf("Snapshot.Close: %v", err)
		}
	})
	return snap
}

// tables lists the named tables of the test database through snap and
// fails unless exactly those come back.
func (f *fixture) tables(snap source.Snapshot, names ...string) map[string]source.Table {
	f.t.Helper()
	filter := newRecordingFilter(f.h.Database(), names...)
	tables, skipped, err := snap.Tables(f.ctx, filter)
	if err != nil {
		f.t.Fatalf("Tables: %v", err)
	}
	for _, s := range skipped {
		if slices.Contains(names, lastPart(s.Target)) {
			f.t.Errorf("Tables skipped %s (%s: %s)", s.Target, s.Reason, s.Detail)
		}
	}
	got := map[string]source.Table{}
	for _, tb := range tables {
		got[tb.Name] = tb
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			f.t.Fatalf("Tables did not list %s (got %v)", n, tableNames(tables))
		}
	}
	if len(got) != len(names) {
		f.t.Fatalf("Tables listed %v, want only %v", tableNames(tables), names)
	}
	return got
}

func lastPart(target string) string {
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}

func tableNames(tables []source.Table) []string {
	out := make([]string, len(tables))
	for i, tb := range tables {
		out[i] = tb.Database + "." + tb.Schema + "." + tb.Name
	}
	return out
}

// column returns the described column name of tb with a target.
func (f *fixture) column(tb source.Table, name string, kind typemap.Kind) source.ScanColumn {
	f.t.Helper()
	for _, c := range tb.Columns {
		if c.Name == name {
			return source.ScanColumn{Column: c, Target: typemap.Target{Kind: kind}}
		}
	}
	f.t.Fatalf("table %s has no column %q (columns %v)", tb.Name, name, columnNames(tb))
	return source.ScanColumn{}
}

func columnNames(tb source.Table) []string {
	out := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		out[i] = c.Name
	}
	return out
}

// scan reads a whole scan with ReadAll.
func (f *fixture) scan(snap source.Snapshot, req source.ScanRequest) ([][]parquet.Value, error) {
	return ReadAll(f.ctx, snap, req)
}

// ReadAll reads a whole scan, cloning every value (Row's byte arrays are
// valid only until the next Next), and returns the rows read and the error
// that ended the scan: Scan's, Row's, Err's, or else Close's. It checks that
// Row appends one value per column to dst. Drivers' own tests use it too.
func ReadAll(ctx context.Context, snap source.Snapshot, req source.ScanRequest) (out [][]parquet.Value, err error) {
	rows, err := snap.Scan(ctx, req)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("Rows.Close: %w", cerr)
		}
	}()
	sentinel := parquet.Int64Value(-424242)
	buf := []parquet.Value{sentinel}
	for rows.Next() {
		buf, err = rows.Row(buf[:1])
		if err != nil {
			return out, err
		}
		if len(buf) != 1+len(req.Columns) {
			return out, fmt.Errorf("Row appended %d values, want %d (one per column)", len(buf)-1, len(req.Columns))
		}
		if !parquet.Equal(buf[0], sentinel) {
			return out, fmt.Errorf("Row overwrote dst[0] instead of appending")
		}
		row := make([]parquet.Value, len(req.Columns))
		for i, v := range buf[1:] {
			row[i] = v.Clone()
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func (f *fixture) mustScan(snap source.Snapshot, req source.ScanRequest) [][]parquet.Value {
	f.t.Helper()
	rows, err := f.scan(snap, req)
	if err != nil {
		f.t.Fatalf("scanning %s: %v", req.Table.Name, err)
	}
	return rows
}

// checkValue compares a value with what the suite inserted: nil for NULL,
// int32, int64, float64, string or []byte, each of its physical kind.
func checkValue(got parquet.Value, want any) error {
	if want == nil {
		if !got.IsNull() {
			return fmt.Errorf("got %v, want NULL", got)
		}
		return nil
	}
	if got.IsNull() {
		return fmt.Errorf("got NULL, want %v", want)
	}
	kindIs := func(k parquet.Kind) error {
		if got.Kind() != k {
			return fmt.Errorf("got a %v value %v, want %v %v", got.Kind(), got, k, want)
		}
		return nil
	}
	var ok bool
	switch w := want.(type) {
	case int32:
		if err := kindIs(parquet.Int32); err != nil {
			return err
		}
		ok = got.Int32() == w
	case int64:
		if err := kindIs(parquet.Int64); err != nil {
			return err
		}
		ok = got.Int64() == w
	case float64:
		if err := kindIs(parquet.Double); err != nil {
			return err
		}
		ok = got.Double() == w
	case string:
		if err := kindIs(parquet.ByteArray); err != nil {
			return err
		}
		ok = string(got.ByteArray()) == w
	case []byte:
		if err := kindIs(parquet.ByteArray); err != nil {
			return err
		}
		ok = string(got.ByteArray()) == string(w)
	default:
		return fmt.Errorf("sourcetest: cannot compare with %T", want)
	}
	if !ok {
		return fmt.Errorf("got %v, want %#v", got, want)
	}
	return nil
}

func abbreviate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// recordingFilter admits the named tables of one database and records every
// call, in order.
type recordingFilter struct {
	database string
	tables   map[string]bool // nil: admit every table of database
	refuseDB bool

	mu    sync.Mutex
	calls []string // "db:<name>" or "table:<db>.<schema>.<name>"
}

func newRecordingFilter(database string, tables ...string) *recordingFilter {
	f := &recordingFilter{database: database, tables: map[string]bool{}}
	for _, t := range tables {
		f.tables[t] = true
	}
	return f
}

func (f *recordingFilter) Database(db string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "db:"+db)
	return !f.refuseDB && db == f.database
}

func (f *recordingFilter) Table(db, schema, table string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "table:"+db+"."+schema+"."+table)
	return db == f.database && f.tables[table]
}

func (f *recordingFilter) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
