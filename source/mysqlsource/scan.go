package mysqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
)

// killGrace is how long a scan waits for KILL QUERY to stop its statement
// before it closes the connection itself.
const killGrace = time.Second

// scan is Scan before redaction.
func (s *Snapshot) scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	convs := make([]conversion, len(req.Columns))
	scratch := 0
	for i, col := range req.Columns {
		c, err := planConversion(col)
		if err != nil {
			return nil, err
		}
		convs[i] = c
		scratch += c.fixedLen
	}
	if req.Range != nil && req.Range.Column == "" {
		// A range without a column is over the table's key.
		if req.Table.Key == nil {
			return nil, fmt.Errorf("mysqlsource: scan %s: key range without a column on a table without a key", req.Table.Target())
		}
		r := *req.Range
		r.Column = req.Table.Key.Column
		req.Range = &r
	}
	var key rangeKey
	if r := req.Range; r != nil && (r.LowerBytes != nil || r.UpperBytes != nil) {
		if r.Lower != nil || r.Upper != nil {
			return nil, fmt.Errorf("mysqlsource: scan %s: key range bounded by both integers and bytes; set one pair", req.Table.Target())
		}
		sk, err := s.stringKey(ctx, req.Table, r.Column)
		if err != nil {
			return nil, fmt.Errorf("mysqlsource: scan %s: %w", req.Table.Target(), err)
		}
		key = rangeKey{bytes: &sk, index: s.keyIndex(req.Table, r.Column)}
	}
	q := scanQuery(req, convs, key)
	conn, err := s.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: scan %s: %w", req.Table.Target(), err)
	}
	// The statement runs on a context of its own, so that cancelling ctx
	// interrupts the statement (KILL QUERY) instead of the driver closing
	// the connection, which would lose the snapshot's transaction.
	qctx, qcancel := context.WithCancel(context.Background())
	// Until the server answers, the statement may wait (for a metadata
	// lock, say): cancelling ctx interrupts that wait too.
	killedEarly, killDone := false, make(chan struct{})
	stopEarly := context.AfterFunc(ctx, func() {
		defer close(killDone)
		killedEarly = true
		s.killQuery(conn, qcancel)
	})
	sqlRows, err := conn.conn.QueryContext(qctx, q)
	if !stopEarly() {
		<-killDone
	}
	if err != nil {
		qcancel()
		// A server error (the KILL's "interrupted" included) ended only the
		// statement: the connection is still in the snapshot's transaction.
		s.release(conn, isServerError(err))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("mysqlsource: scan %s: %w", req.Table.Target(), ctx.Err())
		}
		return nil, scanError(req.Table, err)
	}
	r := &rows{
		snap: s, conn: conn, rows: sqlRows, ctx: ctx, qcancel: qcancel,
		req: req, convs: convs,
		cells:   make([]cell, max(len(convs), 1)),
		scratch: make([]byte, 0, scratch),
		zero:    make([]int64, len(convs)),
	}
	r.ptrs = make([]any, len(r.cells))
	for i := range r.cells {
		r.ptrs[i] = &r.cells[i]
	}
	// A statement killed just as it answered ends with the server's
	// "interrupted" error, which Close then expects.
	r.interrupted = killedEarly
	r.watching.Add(1)
	r.stopWatch = context.AfterFunc(ctx, func() {
		defer r.watching.Done()
		r.interrupt()
	})
	return r, nil
}

// rangeKey is what scanQuery needs to bound a range of a string key.
type rangeKey struct {
	bytes *stringKey // the column's collation, for LowerBytes and UpperBytes
	index string     // the key's index, forced for a bounded byte range
}

// scanQuery builds the SELECT of one scan. An integer range compares with
// integer literals; a byte range with literals of the column's character
// set and collation (stringKey.literal), through the key's index: without
// the hint the optimizer may read a wide range of a secondary index as a
// full table scan, and every part would then read the whole table.
func scanQuery(req source.ScanRequest, convs []conversion, key rangeKey) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if len(convs) == 0 {
		b.WriteString("1") // every column omitted: the rows still count
	}
	for i, c := range convs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.expr)
	}
	b.WriteString(" FROM ")
	b.WriteString(qualified(req.Table))
	if req.TablePartition != "" {
		b.WriteString(" PARTITION (" + quoteIdent(req.TablePartition) + ")")
	}
	r := req.Range
	if r == nil {
		return b.String()
	}
	var where string
	if key.bytes != nil {
		b.WriteString(forceIndex(key.index))
		where = byteRangeCondition(*r, *key.bytes)
	} else {
		k := quoteIdent(r.Column)
		var conds []string
		if r.Lower != nil {
			conds = append(conds, k+" >= "+strconv.FormatInt(*r.Lower, 10))
		}
		if r.Upper != nil {
			conds = append(conds, k+" < "+strconv.FormatInt(*r.Upper, 10))
		}
		where = joinRange(k, conds, r.IncludeNull)
	}
	if where != "" {
		b.WriteString(" WHERE " + where)
	}
	return b.String()
}

// cell receives one value of the current row as the driver produced it,
// through sql.Scanner: database/sql hands a Scanner the driver's value
// itself (the text protocol's bytes, still in the driver's buffer, or the
// number the driver parsed an integer or floating-point column into), with
// no copy and no conversion of its own.
type cell struct{ v any }

func (c *cell) Scan(src any) error {
	c.v = src
	return nil
}

// rows streams one scan. Its buffers (cells, scratch) are reused row after
// row: values returned by Row alias them until the next Next.
type rows struct {
	snap    *Snapshot
	conn    *snapConn
	rows    *sql.Rows
	ctx     context.Context
	qcancel context.CancelFunc
	req     source.ScanRequest
	convs   []conversion
	cells   []cell
	ptrs    []any
	scratch []byte  // fixed-length decimals of the current row
	zero    []int64 // zero or invalid DATETIME/TIMESTAMP values per column
	err     error
	ended   bool // Next returned false
	closed  bool

	stopWatch func() bool    // stops the ctx watcher (context.AfterFunc)
	watching  sync.WaitGroup // the ctx watcher, until it sent its KILL
	over      atomic.Bool    // the statement ended: the result was read to its end

	mu sync.Mutex // guards the fields below, shared with the watcher and guard
	// interrupted is set once this package sent KILL QUERY (ctx cancelled,
	// or closed early): the server's "interrupted" error that follows is
	// expected, and the connection may stay in the snapshot.
	interrupted bool
	killFailed  bool        // the connection had to be closed instead
	guard       *time.Timer // closes the connection if the KILL did not work
}

var (
	_ source.Rows         = (*rows)(nil)
	_ source.RowsWarnings = (*rows)(nil)
)

// interrupt stops the running statement with KILL QUERY from another
// connection. If the kill cannot be sent, or the statement still runs
// killGrace later, the driver closes the connection (which loses it for the
// snapshot, but never leaves a scan hanging).
func (r *rows) interrupt() {
	r.mu.Lock()
	r.interrupted = true
	r.mu.Unlock()
	failed := r.snap.killQuery(r.conn, r.qcancel)
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		r.killFailed = true
		return
	}
	if r.guard == nil {
		r.guard = time.AfterFunc(killGrace, func() {
			if r.over.Load() {
				return
			}
			r.mu.Lock()
			r.killFailed = true
			r.mu.Unlock()
			r.qcancel()
		})
	}
}

// killQuery sends KILL QUERY for the statement running on conn from another
// connection; when it cannot be sent within killGrace it cancels the
// statement's context, which makes the driver close the connection, and
// reports failed.
func (s *Snapshot) killQuery(conn *snapConn, qcancel context.CancelFunc) (failed bool) {
	kctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	if _, err := s.src.db.ExecContext(kctx, "KILL QUERY "+strconv.FormatInt(conn.id, 10)); err != nil {
		qcancel()
		return true
	}
	return false
}

func (r *rows) Next() bool {
	if r.ended || r.closed {
		return false
	}
	if !r.rows.Next() {
		r.over.Store(true)
		r.end(r.rows.Err())
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.end(err)
		return false
	}
	if limit := r.req.MaxValueBytes; limit > 0 {
		for i := range r.convs {
			if v, ok := r.cells[i].v.([]byte); ok && int64(len(v)) >= limit {
				t := r.req.Table
				r.end(&source.ValueTooLargeError{Database: t.Database, Schema: t.Schema, Table: t.Name,
					Column: r.req.Columns[i].Name, Size: int64(len(v)), Limit: limit})
				return false
			}
		}
	}
	return true
}

// end records why iteration stopped. Errors name the table; a cancelled
// ctx wins over the "interrupted" error its KILL QUERY caused.
func (r *rows) end(err error) {
	r.ended = true
	if err == nil {
		return
	}
	var tooLarge *source.ValueTooLargeError
	switch {
	case r.ctx.Err() != nil:
		r.err = fmt.Errorf("mysqlsource: scan %s: %w", r.req.Table.Target(), r.ctx.Err())
	case errors.As(err, &tooLarge):
		r.err = err
	default:
		r.err = scanError(r.req.Table, err)
	}
}

// scanError names the table, and explains the server errors a change of
// the table's definition after the snapshot causes: InnoDB's consistent
// read versions rows, not table definitions.
func scanError(t source.Table, err error) error {
	if serverClosed(err) {
		return fmt.Errorf("mysqlsource: scan %s: the server closed the connection (the session was killed, the server restarted, or a timeout such as net_write_timeout ended it): %w", t.Target(), err)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		why := ""
		switch me.Number {
		case 1146: // ER_NO_SUCH_TABLE
			why = "the table was dropped or renamed after the export's snapshot was taken; export it again"
		case 1412: // ER_TABLE_DEF_CHANGED
			why = "the table was altered (rebuilt) after the export's snapshot was taken, and MySQL/MariaDB snapshots do not cover table definitions; export it again"
		case 1205: // ER_LOCK_WAIT_TIMEOUT: a metadata lock, for a read-only consistent read
			why = "a DDL statement (ALTER, DROP, TRUNCATE, RENAME...) waits for the metadata lock the export holds on the table, " +
				"and reading it would queue behind that statement for longer than the lock wait timeout (lock_wait_timeout); " +
				"let the export finish before changing the table, or export it again"
		}
		if why != "" {
			return fmt.Errorf("mysqlsource: scan %s: %s: %w", t.Target(), why, err)
		}
	}
	return fmt.Errorf("mysqlsource: scan %s: %w", t.Target(), err)
}

func (r *rows) Row(dst []parquet.Value) ([]parquet.Value, error) {
	r.scratch = r.scratch[:0]
	for i := range r.convs {
		raw := r.cells[i].v
		if raw == nil {
			dst = append(dst, parquet.NullValue())
			continue
		}
		v, err := r.convs[i].convertValue(raw, &r.scratch)
		if err != nil {
			if err == errZeroDate {
				r.zero[i]++
				dst = append(dst, parquet.NullValue())
				continue
			}
			return dst, fmt.Errorf("mysqlsource: %s column %q%s: %w", r.req.Table.Target(), r.req.Columns[i].Name, r.rowKey(), err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func (r *rows) Err() error { return r.snap.src.redact(r.err) }

// Warnings reports, per column, the zero or invalid DATETIME/TIMESTAMP
// values written as NULL.
func (r *rows) Warnings() []source.Warning {
	var out []source.Warning
	for i, n := range r.zero {
		if n > 0 {
			col := r.req.Columns[i]
			out = append(out, source.Warning{
				Target: r.req.Table.Target(),
				Reason: source.ReasonZeroDates,
				Detail: fmt.Sprintf("column %s (%s): %d zero or invalid dates written as NULL", col.Name, col.ColumnType, n),
			})
		}
	}
	return out
}

// Close ends the statement (interrupting it when rows remain, so closing
// early does not read the rest of the table) and gives the connection back
// to the snapshot, or closes it when it may have left the snapshot's
// transaction.
func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.stopWatch() {
		r.watching.Done() // the watcher never ran
	}
	// A running watcher must have sent its KILL before the connection is
	// reused, or it could interrupt the next scan's statement.
	r.watching.Wait()
	if !r.over.Load() {
		r.interrupt()
	}
	closeErr := r.rows.Close() // reads up to the server's "interrupted" error
	r.over.Store(true)
	r.qcancel()
	r.mu.Lock()
	if r.guard != nil {
		r.guard.Stop()
	}
	interrupted, killFailed := r.interrupted, r.killFailed
	r.mu.Unlock()
	clean := !interrupted && r.err == nil && closeErr == nil
	// Anything but a clean end is checked on the connection itself: a
	// statement the server ended (KILL QUERY, a table changed after the
	// snapshot) leaves the transaction open; a dead connection fails.
	healthy := !killFailed && (clean || r.settle())
	r.snap.release(r.conn, healthy)
	return nil
}

// settle checks that the connection still answers. A KILL QUERY that
// arrived just after its statement ended interrupts the next statement
// instead, so an "interrupted" answer is retried once.
func (r *rows) settle() bool {
	ctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	for range 2 {
		_, err := r.conn.conn.ExecContext(ctx, "DO 1")
		if err == nil {
			return true
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1317 {
			return false
		}
	}
	return false
}

// serverClosed reports the errors go-sql-driver/mysql returns when the
// server ends the connection under a read: "invalid connection", an
// unexpected EOF, or MariaDB's ER_CONNECTION_KILLED / a shutdown.
func serverClosed(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1927 || me.Number == 1053
	}
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn)
}

// CheckScan reports whether Scan can bring every column of req to its
// target, before any row is read: the exporter calls it when it plans a
// task, so an override the column's type cannot become (a timestamp from a
// BLOB) is refused at the start instead of when the table's turn comes.
func (s *Snapshot) CheckScan(req source.ScanRequest) error {
	for _, col := range req.Columns {
		if _, err := planConversion(col); err != nil {
			return err
		}
	}
	return nil
}
