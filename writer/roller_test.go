package writer_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// output is a file a Roller writes, recording how it was finished.
type output struct {
	f                *os.File
	path             string
	closed, aborted  int
	failWrite, failC bool
}

func (o *output) Write(p []byte) (int, error) {
	if o.failWrite {
		return 0, errDisk
	}
	return o.f.Write(p)
}

func (o *output) Close() error {
	o.closed++
	if err := o.f.Close(); err != nil {
		return err
	}
	if o.failC {
		return errDisk
	}
	return nil
}

func (o *output) Abort() error {
	o.aborted++
	return o.f.Close()
}

// plainOutput is an output without Abort.
type plainOutput struct{ o *output }

func (p plainOutput) Write(b []byte) (int, error) { return p.o.Write(b) }
func (p plainOutput) Close() error                { return p.o.Close() }

// opener opens numbered outputs in dir and keeps them.
type opener struct {
	dir   string
	ext   string
	outs  []*output
	seqs  []int
	plain bool
	fail  func(seq int) error
	setup func(o *output)
}

func (op *opener) open(seq int) (io.WriteCloser, error) {
	op.seqs = append(op.seqs, seq)
	if op.fail != nil {
		if err := op.fail(seq); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(op.dir, fmt.Sprintf("part-%05d%s", seq, op.ext))
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	o := &output{f: f, path: path}
	if op.setup != nil {
		op.setup(o)
	}
	op.outs = append(op.outs, o)
	if op.plain {
		return plainOutput{o}, nil
	}
	return o, nil
}

var rollerCols = []writer.Column{
	{Name: "id", Target: typemap.Target{Kind: typemap.Int64}, SourceType: "bigint"},
	{Name: "note", Target: typemap.Target{Kind: typemap.String}, SourceType: "text"},
}

func rollerRow(i int) []cell {
	return []cell{
		valueOf(rollerCols[0].Target, int64(i)),
		valueOf(rollerCols[1].Target, fmt.Sprintf("note %d %s", i, strings.Repeat("z", i%50))),
	}
}

func writeRoller(t *testing.T, r *writer.Roller, rows [][]cell) {
	t.Helper()
	row := make([]parquet.Value, len(rollerCols))
	for _, rr := range rows {
		for i, c := range rr {
			row[i] = c.v
		}
		if err := r.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRollerRolls writes enough rows for several files: each file is
// valid, holds its share of the rows in order, is about the target size,
// and is closed once; the FileInfos describe them.
func TestRollerRolls(t *testing.T) {
	db := duckcheck.Open(t)
	const target = 256 << 10
	opts := writer.RollerOptions{
		Options:         writer.Options{Codec: writer.Snappy, RowGroupBytes: 64 << 10, PageBytes: 8 << 10},
		TargetFileBytes: target,
	}
	op := &opener{dir: t.TempDir(), ext: opts.Codec.Extension()}
	r := writer.NewRoller(op.open, rollerCols, opts)
	var rows [][]cell
	for i := range 120000 {
		rows = append(rows, rollerRow(i))
	}
	writeRoller(t, r, rows)
	files, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 || len(files) != len(op.outs) {
		t.Fatalf("%d files (%d opened), want several", len(files), len(op.outs))
	}
	first := 0
	for i, fi := range files {
		o := op.outs[i]
		if fi.Seq != i || op.seqs[i] != i {
			t.Errorf("file %d: Seq %d, opened as %d", i, fi.Seq, op.seqs[i])
		}
		if o.closed != 1 || o.aborted != 0 {
			t.Errorf("file %d: closed %d times, aborted %d times; want closed once", i, o.closed, o.aborted)
		}
		st, err := os.Stat(o.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Bytes != st.Size() {
			t.Errorf("file %d: FileInfo.Bytes %d, file size %d", i, fi.Bytes, st.Size())
		}
		if last := i == len(files)-1; !last && (fi.Bytes < target*9/10 || fi.Bytes > target*5/4) {
			t.Errorf("file %d: %d bytes, want about %d", i, fi.Bytes, target)
		}
		t.Logf("file %d: %d rows, %d bytes", i, fi.Rows, fi.Bytes)
		part := table{cols: rollerCols, rows: rows[first : first+int(fi.Rows)]}
		checkFile(t, db, o.path, part)
		first += int(fi.Rows)
	}
	if first != len(rows) {
		t.Errorf("files hold %d rows, want %d", first, len(rows))
	}
	if _, err := r.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if err := r.WriteRow([]parquet.Value{parquet.Int64Value(1), parquet.NullValue()}); err == nil {
		t.Error("WriteRow after Close succeeded")
	}
}

// TestRollerEmpty checks that an empty stream opens no file.
func TestRollerEmpty(t *testing.T) {
	op := &opener{dir: t.TempDir()}
	files, err := writer.NewRoller(op.open, rollerCols, writer.RollerOptions{}).Close()
	if err != nil || len(files) != 0 || len(op.seqs) != 0 {
		t.Errorf("Close = %v, %v with %d files opened; want nothing", files, err, len(op.seqs))
	}
}

// TestRollerInvalid checks that bad columns or options are reported by the
// first WriteRow, and by Close of an empty stream, without opening a file.
func TestRollerInvalid(t *testing.T) {
	for name, tc := range map[string]struct {
		cols []writer.Column
		opts writer.RollerOptions
	}{
		"omit":   {[]writer.Column{{Name: "x", Target: typemap.Target{Kind: typemap.Omit}}}, writer.RollerOptions{}},
		"codec":  {rollerCols, writer.RollerOptions{Options: writer.Options{Codec: 7}}},
		"target": {rollerCols, writer.RollerOptions{TargetFileBytes: -1}},
	} {
		op := &opener{dir: t.TempDir()}
		r := writer.NewRoller(op.open, tc.cols, tc.opts)
		if err := r.WriteRow([]parquet.Value{parquet.NullValue()}); err == nil {
			t.Errorf("%s: WriteRow succeeded", name)
		}
		if _, err := writer.NewRoller(op.open, tc.cols, tc.opts).Close(); err == nil {
			t.Errorf("%s: Close of an empty stream succeeded", name)
		}
		if len(op.seqs) != 0 {
			t.Errorf("%s: %d files opened", name, len(op.seqs))
		}
	}
	if _, err := writer.NewRoller(nil, rollerCols, writer.RollerOptions{}).Close(); err == nil {
		t.Error("nil open: Close succeeded")
	}
}

// TestRollerAbort checks that Abort leaves finished files alone and gives
// up the current one without closing it: Abort is called on an output
// that has it, nothing on one that has not.
func TestRollerAbort(t *testing.T) {
	db := duckcheck.Open(t)
	for _, plain := range []bool{false, true} {
		op := &opener{dir: t.TempDir(), plain: plain}
		r := writer.NewRoller(op.open, rollerCols, writer.RollerOptions{
			Options: writer.Options{RowGroupBytes: 16 << 10}, TargetFileBytes: 32 << 10,
		})
		var rows [][]cell
		for i := 0; len(op.outs) < 2; i++ {
			rows = append(rows, rollerRow(i))
			writeRoller(t, r, rows[i:])
		}
		if err := r.Abort(); err != nil {
			t.Fatal(err)
		}
		done, cur := op.outs[0], op.outs[1]
		if done.closed != 1 || done.aborted != 0 {
			t.Errorf("finished file: closed %d, aborted %d; want closed once", done.closed, done.aborted)
		}
		wantAborted := 1
		if plain {
			wantAborted = 0
			cur.f.Close()
		}
		if cur.closed != 0 || cur.aborted != wantAborted {
			t.Errorf("plain %v: current file closed %d, aborted %d; want aborted %d times, never closed", plain, cur.closed, cur.aborted, wantAborted)
		}
		if got := db.Int(`SELECT count(*) FROM read_parquet(?)`, done.path); got <= 0 || got >= int64(len(rows)) {
			t.Errorf("finished file holds %d of %d rows", got, len(rows))
		}
		if err := r.WriteRow([]parquet.Value{parquet.Int64Value(1), parquet.NullValue()}); err == nil {
			t.Error("WriteRow after Abort succeeded")
		}
		files, err := r.Close()
		if err == nil || len(files) != 1 {
			t.Errorf("Close after Abort = %v, %v; want the finished file and an error", files, err)
		}
	}
}

// TestRollerOpenError checks that a failing open is returned, wrapped, and
// ends the Roller.
func TestRollerOpenError(t *testing.T) {
	op := &opener{dir: t.TempDir(), fail: func(int) error { return errDisk }}
	r := writer.NewRoller(op.open, rollerCols, writer.RollerOptions{})
	row := []parquet.Value{parquet.Int64Value(1), parquet.NullValue()}
	if err := r.WriteRow(row); !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "open file 0") {
		t.Errorf("WriteRow = %v, want the open error", err)
	}
	if err := r.WriteRow(row); !errors.Is(err, errDisk) {
		t.Errorf("second WriteRow = %v, want the open error", err)
	}
	if _, err := r.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close = %v, want the open error", err)
	}
}

// TestRollerRefusedRow checks that a refused row leaves the Roller usable,
// and that a file whose only row was refused is given up, not published.
func TestRollerRefusedRow(t *testing.T) {
	db := duckcheck.Open(t)
	bad := []parquet.Value{parquet.Int32Value(1), parquet.NullValue()}

	op := &opener{dir: t.TempDir()}
	r := writer.NewRoller(op.open, rollerCols, writer.RollerOptions{})
	if err := r.WriteRow(bad); err == nil || !strings.Contains(err.Error(), `column "id"`) {
		t.Fatalf("WriteRow(bad) = %v", err)
	}
	files, err := r.Close()
	if err != nil || len(files) != 0 || op.outs[0].closed != 0 || op.outs[0].aborted != 1 {
		t.Errorf("Close = %v, %v; output closed %d aborted %d; want no file, output aborted",
			files, err, op.outs[0].closed, op.outs[0].aborted)
	}

	op = &opener{dir: t.TempDir()}
	r = writer.NewRoller(op.open, rollerCols, writer.RollerOptions{})
	rows := [][]cell{rollerRow(0), rollerRow(1)}
	writeRoller(t, r, rows[:1])
	if err := r.WriteRow(bad); err == nil {
		t.Fatal("WriteRow(bad) succeeded")
	}
	writeRoller(t, r, rows[1:])
	files, err = r.Close()
	if err != nil || len(files) != 1 || files[0].Rows != 2 {
		t.Fatalf("Close = %v, %v; want one file of 2 rows", files, err)
	}
	checkFile(t, db, op.outs[0].path, table{cols: rollerCols, rows: rows})
}

// TestRollerOutputErrors checks failures of the output: a failed write
// gives the file up (aborted, not closed), a failed Close is returned; the
// files finished before are still listed.
func TestRollerOutputErrors(t *testing.T) {
	opts := writer.RollerOptions{Options: writer.Options{RowGroupBytes: 16 << 10}, TargetFileBytes: 32 << 10}
	row := func(i int) []parquet.Value {
		return []parquet.Value{parquet.Int64Value(int64(i)), parquet.ByteArrayValue([]byte(strings.Repeat("q", 100)))}
	}

	op := &opener{dir: t.TempDir()}
	op.setup = func(o *output) { o.failWrite = len(op.outs) == 1 } // the second file fails
	r := writer.NewRoller(op.open, rollerCols, opts)
	var err error
	for i := 0; err == nil && i < 100000; i++ {
		err = r.WriteRow(row(i))
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("WriteRow = %v, want the write error", err)
	}
	files, cerr := r.Close()
	if !errors.Is(cerr, errDisk) || len(files) != 1 {
		t.Errorf("Close = %v, %v; want the first file and the write error", files, cerr)
	}
	if o := op.outs[1]; o.closed != 0 || o.aborted != 1 {
		t.Errorf("failed file: closed %d, aborted %d; want aborted once", o.closed, o.aborted)
	}

	op = &opener{dir: t.TempDir()}
	op.setup = func(o *output) { o.failC = true }
	r = writer.NewRoller(op.open, rollerCols, opts)
	if err := r.WriteRow(row(0)); err != nil {
		t.Fatal(err)
	}
	if files, err := r.Close(); !errors.Is(err, errDisk) || len(files) != 0 {
		t.Errorf("Close = %v, %v; want the close error and no file", files, err)
	}
}
