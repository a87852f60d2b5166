package sqlitesource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Scan reads req.Table through the snapshot connection with the fewest open
// scans. The statement runs on the driver without req's context (see
// background); Next checks ctx before every row, so a cancelled scan stops at
// the next row.
func (sn *snapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	target := req.Table.Target()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlitesource: scanning %s: %w", target, err)
	}
	if len(req.Columns) == 0 {
		return nil, fmt.Errorf("sqlitesource: scanning %s: no columns requested", target)
	}
	if req.TablePartition != "" {
		return nil, fmt.Errorf("sqlitesource: scanning %s: SQLite tables have no partition %q", target, req.TablePartition)
	}
	convs := make([]converter, len(req.Columns))
	for i, c := range req.Columns {
		if err := checkTarget(c.Target); err != nil {
			return nil, fmt.Errorf("sqlitesource: column %q of %s: %w", c.Name, target, err)
		}
		convs[i] = newConverter(req.Table, c, req.MaxValueBytes)
	}
	query, args := scanQuery(req)

	sc, err := sn.acquire()
	if err != nil {
		return nil, err
	}
	rs, err := sc.conn.QueryContext(background, query, args...)
	if err != nil {
		sn.releaseConn(sc)
		return nil, fmt.Errorf("sqlitesource: scanning %s: %w", target, err)
	}
	r := &rows{
		sn: sn, sc: sc, done: ctx.Done(), ctx: ctx, target: target, rs: rs,
		convs: convs,
		cells: make([]cell, len(convs)),
		dests: make([]any, len(convs)),
		vals:  make([]parquet.Value, len(convs)),
	}
	for i := range r.cells {
		r.dests[i] = &r.cells[i]
	}
	return r, nil
}

// scanQuery builds the SELECT of a scan.
//
// Each column is read as an expression, never as a bare column, so that its
// declared type does not reach the driver: modernc.org/sqlite turns TEXT in
// DATE, DATETIME and TIMESTAMP columns into time.Time, and the export wants
// the text as stored. "+x" is SQLite's no-op operator. For string and binary
// targets, a REAL becomes SQLite's own text form (CAST(x AS TEXT)), the one
// the sqlite3 shell prints.
//
// A key range [lo, hi) is "k >= lo AND k < hi". A nil bound is open, which
// also covers the values SQLite's dynamic typing lets into an INTEGER column:
// text and blobs sort after every number, so they fall in the last range of
// a plan, reals fall between integers. IncludeNull adds "k IS NULL" as a
// separate UNION ALL branch, which keeps both branches on the key's index.
func scanQuery(req source.ScanRequest) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range req.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		q := quoteIdent(c.Name)
		switch c.Target.Kind {
		case typemap.String, typemap.Binary:
			b.WriteString("CASE typeof(" + q + ") WHEN 'real' THEN CAST(" + q + " AS TEXT) ELSE " + q + " END")
		default:
			b.WriteString("+" + q)
		}
	}
	b.WriteString(" FROM " + quoteIdent(Schema) + "." + quoteIdent(req.Table.Name))
	sel := b.String()

	r := req.Range
	if r == nil {
		return sel, nil
	}
	k := quoteIdent(r.Column)
	var conds []string
	var args []any
	if r.Lower != nil {
		conds = append(conds, k+" >= ?")
		args = append(args, *r.Lower)
	}
	if r.Upper != nil {
		conds = append(conds, k+" < ?")
		args = append(args, *r.Upper)
	}
	bounds := strings.Join(conds, " AND ")
	switch {
	case !r.IncludeNull && len(conds) == 0:
		return sel + " WHERE " + k + " IS NOT NULL", nil
	case !r.IncludeNull:
		return sel + " WHERE " + bounds, args
	case len(conds) == 0:
		return sel, nil
	case !nullable(req.Table, r.Column):
		return sel + " WHERE " + bounds, args
	}
	return sel + " WHERE " + k + " IS NULL UNION ALL " + sel + " WHERE " + bounds, args
}

// nullable reports whether the table's column may be NULL (true when the
// column is not in the description).
func nullable(tb source.Table, column string) bool {
	for _, c := range tb.Columns {
		if c.Name == column {
			return c.Nullable
		}
	}
	return true
}

// rows is one scan. It holds its snapshot connection's slot until Close.
type rows struct {
	sn     *snapshot
	sc     *snapConn
	ctx    context.Context
	done   <-chan struct{}
	target string
	rs     *sql.Rows

	convs []converter
	cells []cell // what the driver returned for the current row
	dests []any  // pointers to cells, for Scan
	vals  []parquet.Value

	has    bool // vals hold a row
	ended  bool // rs is closed
	closed bool
	err    error
}

var _ source.Rows = (*rows)(nil)

// cell receives a driver value as is: int64, float64, string, []byte or nil.
// Being a sql.Scanner, it skips database/sql's conversions and copies.
type cell struct{ v any }

func (c *cell) Scan(src any) error {
	c.v = src
	return nil
}

func (r *rows) Next() bool {
	r.has = false
	if r.ended || r.closed {
		return false
	}
	select {
	case <-r.done:
		r.end(fmt.Errorf("sqlitesource: scanning %s: %w", r.target, r.ctx.Err()))
		return false
	default:
	}
	if !r.rs.Next() {
		var err error
		if e := r.rs.Err(); e != nil {
			err = fmt.Errorf("sqlitesource: scanning %s: %w", r.target, e)
		}
		r.end(err)
		return false
	}
	if err := r.rs.Scan(r.dests...); err != nil {
		r.end(fmt.Errorf("sqlitesource: scanning %s: %w", r.target, err))
		return false
	}
	for i := range r.convs {
		v, err := r.convs[i].convert(r.cells[i].v)
		if err != nil {
			r.end(err)
			return false
		}
		r.vals[i] = v
	}
	r.has = true
	return true
}

// end stops iteration with err (nil at a clean end) and frees the statement.
func (r *rows) end(err error) {
	r.ended = true
	r.err = err
	if cerr := r.rs.Close(); r.err == nil && cerr != nil {
		r.err = fmt.Errorf("sqlitesource: scanning %s: %w", r.target, cerr)
	}
}

func (r *rows) Row(dst []parquet.Value) ([]parquet.Value, error) {
	if !r.has {
		return dst, errors.New("sqlitesource: Row called without a current row")
	}
	return append(dst, r.vals...), nil
}

func (r *rows) Err() error { return r.err }

// Close ends the scan; a second call does nothing.
func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.has = false
	var err error
	if !r.ended {
		r.ended = true
		if cerr := r.rs.Close(); cerr != nil {
			err = fmt.Errorf("sqlitesource: closing scan of %s: %w", r.target, cerr)
		}
	}
	r.sn.releaseConn(r.sc)
	return err
}
