package pgsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
)

// sessionSettings fix the text output of every value a scan reads (see the
// package documentation); SET LOCAL confines them to the scan's transaction.
const sessionSettings = "SET LOCAL client_encoding = 'UTF8'; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; " +
	"SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; " +
	"SET LOCAL row_security = off; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0; " +
	// The snapshot holds ACCESS SHARE on every table; the only lock a scan
	// can wait for is one queued behind that (an ALTER or TRUNCATE waiting
	// for the export to end), which would wait for the scan in turn.
	"SET LOCAL lock_timeout = '5s'"

// scan is Scan before redaction.
func (sn *Snapshot) scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	d, err := sn.db(req.Table.Database)
	if err != nil {
		return nil, err
	}
	target := req.Table.Target()
	if req.TablePartition != "" {
		target += " (partition " + req.TablePartition + ")"
	}
	cols, formats, err := planColumns(req)
	if err != nil {
		return nil, fmt.Errorf("pgsource: scan %q: %w", target, err)
	}
	if sn.joined && req.TablePartition != "" {
		if err := d.resolve(ctx, sn.src, req.Table); err != nil {
			return nil, fmt.Errorf("pgsource: scan %q: %w", target, err)
		}
	}
	query, params, err := d.selectSQL(req)
	if err != nil {
		return nil, fmt.Errorf("pgsource: scan %q: %w", target, err)
	}

	conn, err := d.join(ctx, sn.src)
	if err != nil {
		return nil, fmt.Errorf("pgsource: join snapshot to scan %q: %w", target, err)
	}
	pc := conn.Conn().PgConn()
	if pc.ParameterStatus("server_encoding") == "SQL_ASCII" {
		// Bytes in no declared encoding: the server would refuse to
		// "convert" invalid ones to UTF8, so they come as they are and are
		// repaired here.
		if err := readRawText(ctx, pc, cols); err != nil {
			conn.Release()
			return nil, fmt.Errorf("pgsource: scan %q: %w", target, err)
		}
	}

	qctx, cancel := context.WithCancel(ctx)
	r := &rows{
		src:      sn.src,
		parent:   ctx,
		cancel:   cancel,
		conn:     conn,
		target:   target,
		req:      req,
		cols:     cols,
		maxBytes: req.MaxValueBytes,
	}
	var fixed int
	for _, c := range cols {
		fixed += c.fixedLen
	}
	r.scratch = make([]byte, 0, fixed)
	paramOIDs := make([]uint32, len(params))
	paramFormats := make([]int16, len(params))
	paramValues := make([][]byte, len(params))
	for i, p := range params {
		paramOIDs[i] = 20 // int8
		paramFormats[i] = pgx.BinaryFormatCode
		paramValues[i] = binary.BigEndian.AppendUint64(nil, uint64(p))
	}
	r.rr = pc.ExecParams(qctx, query, paramValues, paramOIDs, paramFormats, formats)
	return r, nil
}

// join acquires a connection and starts a transaction on the snapshot,
// with the session settings. On error the connection is already released.
func (d *dbSnapshot) join(ctx context.Context, src *Source) (*pgxpool.Conn, error) {
	conn, err := d.acquire(ctx, src)
	if err != nil {
		return nil, err
	}
	_, err = conn.Conn().PgConn().Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT "+
		quoteLiteral(d.id)+"; "+sessionSettings).ReadAll()
	if err != nil {
		src.release(conn) // not idle: the pool discards it
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return nil, snapshotGone(err, d)
	}
	return conn, nil
}

// fromSQL names the relation a request reads, with ONLY where it must not
// recurse, and whether that is a partitioned table.
func (d *dbSnapshot) fromSQL(t source.Table, partition string) (from string, partitioned bool, err error) {
	d.mu.Lock()
	rel := d.rels[relKey(t.Schema, t.Name)]
	d.mu.Unlock()

	from = pgx.Identifier{t.Schema, t.Name}.Sanitize()
	partitioned = t.TablePartitions != nil
	if rel != nil {
		from = rel.qualified
		partitioned = rel.kind == 'p'
	}
	if partition != "" {
		switch {
		case rel != nil && rel.partitions[partition] != "":
			from = rel.partitions[partition]
		case rel != nil:
			return "", false, fmt.Errorf("%q is not a partition of the table", partition)
		default:
			from = pgx.Identifier{t.Schema, partition}.Sanitize()
		}
		partitioned = false // a leaf
	}
	// ONLY: rows of tables inheriting from this one (old-style inheritance)
	// are exported with those tables, not twice. A partitioned table's rows
	// are all in its partitions, so it is read whole.
	if partitioned {
		return from, true, nil
	}
	return "ONLY " + from, false, nil
}

// selectSQL builds the scan's query and its int8 parameters.
func (d *dbSnapshot) selectSQL(req source.ScanRequest) (string, []int64, error) {
	t := req.Table
	from, partitioned, err := d.fromSQL(t, req.TablePartition)
	if err != nil {
		return "", nil, err
	}

	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range req.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{c.Name}.Sanitize())
	}
	b.WriteString(" FROM ")
	b.WriteString(from)

	var (
		params []int64
		where  []string
	)
	if br := req.Blocks; br != nil {
		// A TID range scan (PostgreSQL 14+) reads only these pages. Each
		// row version visible to the snapshot has one ctid, so ranges that
		// tile the pages read every row once.
		if partitioned {
			return "", nil, errors.New("a page range cannot apply to a partitioned table; scan its partitions")
		}
		where = append(where, fmt.Sprintf("ctid >= '(%d,0)'::tid", br.Lower))
		if br.Upper != nil {
			where = append(where, fmt.Sprintf("ctid < '(%d,0)'::tid", *br.Upper))
		}
	}
	if kr := req.Range; kr != nil {
		column := kr.Column
		if column == "" && t.Key != nil { // the range is over the table's key
			column = t.Key.Column
		}
		if column == "" {
			return "", nil, errors.New("the key range names no column and the table has no key")
		}
		key := pgx.Identifier{column}.Sanitize()
		var conds []string
		if kr.Lower != nil {
			params = append(params, *kr.Lower)
			conds = append(conds, fmt.Sprintf("%s >= $%d", key, len(params)))
		}
		if kr.Upper != nil {
			params = append(params, *kr.Upper)
			conds = append(conds, fmt.Sprintf("%s < $%d", key, len(params)))
		}
		if len(conds) == 0 {
			conds = append(conds, key+" IS NOT NULL")
		}
		cond := strings.Join(conds, " AND ")
		if kr.IncludeNull {
			cond = "(" + cond + ") OR " + key + " IS NULL"
		}
		where = append(where, "("+cond+")")
	}
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	return b.String(), params, nil
}

// rows streams one scan's result.
type rows struct {
	src      *Source
	parent   context.Context // the caller's; its cancellation is reported
	cancel   context.CancelFunc
	conn     *pgxpool.Conn
	rr       *pgconn.ResultReader
	target   string
	req      source.ScanRequest
	cols     []column
	maxBytes int64

	vals    [][]byte // the current row, aliasing pgconn's read buffer
	scratch []byte   // fixed-length decimals of the current row
	checked bool     // result column types verified
	done    bool     // the result is finished (or abandoned)
	closed  bool
	err     error
}

var (
	_ source.Rows         = (*rows)(nil)
	_ source.RowsWarnings = (*rows)(nil)
)

func (r *rows) Next() bool {
	if r.done {
		return false
	}
	if !r.rr.NextRow() {
		r.finish()
		return false
	}
	vals := r.rr.Values()
	if !r.checked {
		if err := r.checkResult(); err != nil {
			r.abandon(fmt.Errorf("pgsource: reading %q: %w", r.target, err))
			return false
		}
		r.checked = true
	}
	if r.maxBytes > 0 {
		for i, v := range vals {
			if int64(len(v)) >= r.maxBytes {
				t := r.req.Table
				r.abandon(&source.ValueTooLargeError{Database: t.Database, Schema: t.Schema, Table: t.Name,
					Column: r.cols[i].name, Size: int64(len(v)), Limit: r.maxBytes})
				return false
			}
		}
	}
	r.vals = vals
	r.scratch = r.scratch[:0]
	return true
}

// checkResult verifies that every binary column carries the type its
// decoder expects (a caller-built Column with a wrong DataType would
// otherwise be decoded as garbage).
func (r *rows) checkResult() error {
	fields := r.rr.FieldDescriptions()
	if len(fields) != len(r.cols) {
		return fmt.Errorf("the query returned %d columns, want %d", len(fields), len(r.cols))
	}
	for i, c := range r.cols {
		if len(c.oids) == 0 {
			continue
		}
		ok := false
		for _, o := range c.oids {
			ok = ok || fields[i].DataTypeOID == o
		}
		if !ok {
			return fmt.Errorf("column %q has type oid %d, not the %s its description says: %w",
				c.name, fields[i].DataTypeOID, c.dataType, source.ErrUnsupportedConversion)
		}
	}
	return nil
}

// finish reads the end of the result: its error, if any.
func (r *rows) finish() {
	r.done = true
	r.vals = nil
	if _, err := r.rr.Close(); err != nil {
		r.err = r.wrap(err)
	}
}

// abandon ends the scan early with err. Cancelling the query's context
// closes the connection at once instead of draining the rest of a large
// result; the pool discards the closed connection on release.
func (r *rows) abandon(err error) {
	r.err = err
	r.done = true
	r.vals = nil
	r.cancel()
	r.rr.Close()
}

func (r *rows) wrap(err error) error {
	if ctxErr := r.parent.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("pgsource: reading %q: %w: %w", r.target, ctxErr, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
		return fmt.Errorf("pgsource: reading %q: another session waits for an exclusive lock on the table (ALTER, TRUNCATE, DROP...) "+
			"that must wait for this export to end: %w", r.target, err)
	}
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "57P") || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// 57P01 admin_shutdown (pg_terminate_backend), 57P02/57P03 a crash
		// or shutdown; EOF when the connection dropped without a message.
		return fmt.Errorf("pgsource: reading %q: the server closed the connection (the backend was terminated, or the server shut down): %w", r.target, err)
	}
	return fmt.Errorf("pgsource: reading %q: %w", r.target, err)
}

func (r *rows) Err() error { return r.src.redact(r.err) }

// Close ends the scan's transaction and returns its connection to the pool
// (or has the pool discard it, when the scan ended early or failed).
func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if !r.done {
		r.abandon(nil)
	}
	r.cancel()
	pc := r.conn.Conn().PgConn()
	if r.err == nil && !pc.IsClosed() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.parent), 5*time.Second)
		_ = rollback(ctx, pc) // on failure the connection is not idle, and the pool discards it
		cancel()
	}
	r.src.release(r.conn)
	return nil
}

// Row appends the current row's values. Text and bytes alias the
// connection's read buffer, valid until the next call to Next.
func (r *rows) Row(dst []parquet.Value) ([]parquet.Value, error) {
	if r.vals == nil {
		return dst, errors.New("pgsource: Row called without a current row")
	}
	for i := range r.cols {
		c := &r.cols[i]
		v := r.vals[i]
		if v == nil {
			dst = append(dst, parquet.NullValue())
			continue
		}
		val, err := c.value(v, &r.scratch)
		if err != nil {
			return dst, fmt.Errorf("pgsource: reading %q: column %q%s: %w", r.target, c.name, r.rowKey(), err)
		}
		dst = append(dst, val)
	}
	return dst, nil
}

// ReasonValuesWrittenAsNull is the warning of a column whose target type
// (an override) cannot hold some values: NaN or ±Infinity numerics as
// DECIMAL, infinite or far-off dates and timestamps as TIMESTAMP.
const ReasonValuesWrittenAsNull = "UNREPRESENTABLE_VALUES_WRITTEN_AS_NULL"

// Warnings reports, per column, the values written as NULL because the
// target type cannot represent them.
func (r *rows) Warnings() []source.Warning {
	var out []source.Warning
	for i := range r.cols {
		out = append(out, r.cols[i].warnings(r.req.Table.Target())...)
	}
	return out
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// CheckScan reports whether Scan can bring every column of req to its
// target, before any row is read: the exporter calls it when it plans a
// task, so an override the column's type cannot become (a timestamp from a
// jsonb) is refused at the start instead of when the table's turn comes.
func (sn *Snapshot) CheckScan(req source.ScanRequest) error {
	_, _, err := planColumns(req)
	return err
}
