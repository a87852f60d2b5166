package writer

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// RollerOptions tune a [Roller]: the options of each file, and the size at
// which it starts the next one.
type RollerOptions struct {
	Options
	// TargetFileBytes is the size after which the current file is finished
	// and the next row starts a new one; 0 means DefaultTargetFileBytes.
	// Files end at a row boundary, so they come out slightly larger.
	TargetFileBytes int64
}

// FileInfo describes one finished file of a [Roller].
type FileInfo struct {
	Seq   int   // the number open was called with
	Rows  int64 // rows in the file
	Bytes int64 // size of the file
}

// Aborter is implemented by outputs that can be discarded instead of
// published (an upload that is cancelled). When the Roller gives up a file
// (Abort, or a failure while finishing it) it calls Abort on the output if
// the output implements Aborter, and otherwise leaves it unclosed for the
// caller to cancel; it never calls Close on a file it gave up, because
// closing publishes.
type Aborter interface {
	Abort() error
}

// Roller writes a stream of rows as a sequence of files, starting a new file
// when the current one reaches the target size. It is not safe for
// concurrent use.
type Roller struct {
	open   func(seq int) (io.WriteCloser, error)
	cols   []Column
	opts   RollerOptions
	target int64

	cur   *FileWriter
	out   io.WriteCloser
	seq   int
	files []FileInfo
	err   error // sticky
}

// NewRoller returns a Roller of files with these columns. open is called for
// file 0, 1, 2, … when the first row of that file arrives, so an empty
// stream opens no file. Errors in cols or opts are returned by the first
// WriteRow or Close.
func NewRoller(open func(seq int) (io.WriteCloser, error), cols []Column, opts RollerOptions) *Roller {
	r := &Roller{open: open, cols: cols, opts: opts, target: cmpOr(opts.TargetFileBytes, DefaultTargetFileBytes)}
	switch {
	case opts.TargetFileBytes < 0:
		r.err = fmt.Errorf("writer: negative TargetFileBytes %d", opts.TargetFileBytes)
	case open == nil:
		r.err = errors.New("writer: no open function")
	default:
		// Check the columns and options now rather than at the first row, so
		// an empty stream reports them too. The probe writes nothing.
		probe, err := NewFileWriter(io.Discard, cols, opts.Options)
		if err != nil {
			r.err = err
		} else {
			probe.Abort()
		}
	}
	return r
}

// WriteRow writes one row to the current file, opening it first if needed;
// see [FileWriter.WriteRow]. A row refused as invalid leaves the Roller
// usable; any other error ends it (call Abort).
func (r *Roller) WriteRow(row []parquet.Value) error {
	if r.err != nil {
		return r.err
	}
	if r.cur == nil {
		out, err := r.open(r.seq)
		if err != nil {
			return r.fail(fmt.Errorf("writer: open file %d: %w", r.seq, err))
		}
		fw, err := NewFileWriter(out, r.cols, r.opts.Options)
		if err != nil {
			abortOutput(out)
			return r.fail(err)
		}
		r.cur, r.out = fw, out
	}
	if err := r.cur.WriteRow(row); err != nil {
		if r.cur.err != nil {
			return r.fail(err)
		}
		return err // the row was refused; the file is intact
	}
	if r.cur.EstimatedSize() >= r.target {
		return r.finish()
	}
	return nil
}

// finish closes the current file and its output.
func (r *Roller) finish() error {
	fw, out := r.cur, r.out
	r.cur, r.out = nil, nil
	if fw.Rows() == 0 { // a file that refused its first row: publish nothing
		fw.Abort()
		abortOutput(out)
		return nil
	}
	if err := fw.Close(); err != nil {
		abortOutput(out)
		return r.fail(err)
	}
	if err := out.Close(); err != nil {
		return r.fail(fmt.Errorf("writer: close file %d: %w", r.seq, err))
	}
	r.files = append(r.files, FileInfo{Seq: r.seq, Rows: fw.Rows(), Bytes: fw.WrittenBytes()})
	r.seq++
	return nil
}

// Files describes the files finished so far.
func (r *Roller) Files() []FileInfo { return append([]FileInfo(nil), r.files...) }

// Close finishes the current file (FileWriter.Close, then the output's
// Close) and returns one FileInfo per file, in order. After an error the
// files already finished are still returned; the current one is given up
// as Abort does.
func (r *Roller) Close() ([]FileInfo, error) {
	if r.err != nil {
		r.Abort()
		return r.Files(), r.err
	}
	var err error
	if r.cur != nil {
		err = r.finish()
	}
	if err == nil {
		r.err = errRollerClosed
	}
	return r.Files(), err
}

// Abort stops without finishing the current file: nothing more is written
// and its output is not closed (see [Aborter]); the caller cancels the
// outputs' context. Finished files stay. Later calls return an error.
func (r *Roller) Abort() error {
	if r.cur != nil {
		r.cur.Abort()
		abortOutput(r.out)
		r.cur, r.out = nil, nil
	}
	if r.err == nil {
		r.err = errRollerClosed
	}
	return nil
}

var errRollerClosed = errors.New("writer: roller is closed")

func (r *Roller) fail(err error) error {
	r.err = err
	return err
}

func abortOutput(out io.WriteCloser) {
	if a, ok := out.(Aborter); ok {
		_ = a.Abort()
	}
}
