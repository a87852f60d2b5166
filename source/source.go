package source

import (
	"context"
	"errors"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/typemap"
)

// Column describes one column of a table; see [typemap.Column].
type Column = typemap.Column

// Source is an open connection to a database server (or file). It is safe
// for concurrent use.
type Source interface {
	// Engine names the engine: "postgres", "mysql", "mariadb" or "sqlite"
	// (the typemap profile keys).
	Engine() string
	// Identity is a stable, password-free description of what this source
	// reads (a redacted URL). Two sources with the same identity are the
	// same source: the exporter runs one task per identity at a time. It is
	// what the task record shows as SourceArn.
	Identity() string
	// Snapshot pins one point in time. Everything read through the returned
	// snapshot must reflect that point, whichever connection reads it;
	// writes committed after Snapshot returns must be invisible. A driver
	// that cannot give that guarantee across connections must say so in
	// SnapshotInfo.Warnings and read through one connection instead.
	Snapshot(ctx context.Context, opts SnapshotOptions) (Snapshot, error)
	// Close releases the source. Snapshots must be closed first.
	Close() error
}

// SnapshotOptions tune a snapshot. The zero value is valid.
type SnapshotOptions struct {
	// Databases narrows the snapshot to these databases (nil: every
	// database the source exports by default). Drivers that snapshot per
	// database use it to avoid touching databases that are not exported.
	Databases []string
	// Workers is how many connections will scan at once; drivers that join
	// connections to the snapshot up front may prepare that many.
	Workers int
}

// SnapshotInfo identifies a snapshot.
type SnapshotInfo struct {
	// Time is the database server's clock at the snapshot.
	Time time.Time
	// ID is the engine's identity of the point in time, per database where
	// the engine snapshots per database: PostgreSQL's exported snapshot id
	// and WAL LSN, MySQL's binlog position or GTID set, SQLite's data
	// version. Keys are engine-specific ("test.lsn", "binlog_file"...).
	ID map[string]string
	// Warnings are general warnings about the snapshot (a consistency
	// fallback, a non-transactional table). They go to
	// WarningMessage.general.
	Warnings []Warning
}

// Snapshot is one consistent point in time of a source. Its methods are safe
// for concurrent use: the exporter calls Scan from several workers at once.
type Snapshot interface {
	Info() SnapshotInfo
	// Tables lists the tables the filter includes, with their columns, in
	// a stable order. Objects that exist but are not exported (views are
	// not listed at all; temporary, unlogged or foreign tables, tables the
	// user cannot read) come back in skipped, each with its reason.
	Tables(ctx context.Context, filter Filter) (tables []Table, skipped []Skipped, err error)
	// Scan reads rows of one table as of the snapshot. Several scans may run
	// at once, each on its own connection. Cancelling ctx must make Next
	// return false promptly (within 2 s) with Err wrapping context.Canceled.
	Scan(ctx context.Context, req ScanRequest) (Rows, error)
	// Close ends the snapshot and releases its connections. Scans must be
	// closed first.
	Close() error
}

// Filter says which objects to list. Drivers must call Database before
// reading a database's catalog and Table before describing a table, so a
// partial export touches only what it exports.
type Filter interface {
	Database(database string) bool
	Table(database, schema, table string) bool
}

// Table is one exportable table.
type Table struct {
	Database string
	// Schema is the real schema (PostgreSQL "public", SQLite "main"); for
	// MySQL and MariaDB it equals Database.
	Schema string
	Name   string
	// Columns in the table's declared order.
	Columns []Column
	// Key is a column the table may be split on for parallel key-range
	// scans, or nil. Drivers report an integer primary key or unique
	// not-null integer index first; a driver that implements
	// [KeyBoundarySampler] may report another key (Key.Integer false).
	Key *Key
	// TablePartitions names the declarative partitions of a partitioned table,
	// in order (nil for ordinary tables), as ScanRequest.TablePartition takes
	// them (PostgreSQL: "schema.name" when a partition lives in another
	// schema than its parent). Each becomes one batch folder.
	TablePartitions []string
	// EstimatedRows and EstimatedBytes come from the catalog's statistics
	// (0 when unknown); they drive planning and progress.
	EstimatedRows, EstimatedBytes int64
	// NonTransactional is set for tables whose engine cannot take part in a
	// snapshot (MySQL MyISAM, Aria).
	NonTransactional bool
	// Pages is the table's size in physical pages where the engine can scan
	// page ranges (PostgreSQL relpages; 0 otherwise). See BlockScanner.
	Pages int64
}

// Target is the table's name as RDS writes it in metadata: database.schema.table
// (PostgreSQL and SQLite) or database.table (MySQL, where schema = database).
func (t Table) Target() string {
	if t.Schema == "" || t.Schema == t.Database {
		return t.Database + "." + t.Name
	}
	return t.Database + "." + t.Schema + "." + t.Name
}

// Key is a column usable for key-range partitioning. Uniqueness is not
// needed for correctness (ranges are disjoint whatever the values), only for
// parts of similar size: drivers prefer unique keys.
type Key struct {
	Column string
	// Integer is set when the column is an integer type; ranges then use
	// KeyRange.Lower and Upper. Otherwise ranges use KeyRange.LowerBytes and
	// UpperBytes, values the driver's [KeyBoundarySampler] returned.
	Integer bool
	// Min and Max are the key's bounds where the driver knows them cheaply.
	Min, Max *int64
}

// ScanRequest says what one scan reads.
type ScanRequest struct {
	Table Table
	// Columns to read, in the order Rows.Row returns them, each with the
	// Parquet target the driver converts its values to.
	Columns []ScanColumn
	// TablePartition is the declarative partition to read, "" for the table.
	TablePartition string
	// Range restricts the scan to a key range; nil reads everything.
	Range *KeyRange
	// Blocks restricts the scan to a range of physical pages; only for
	// snapshots that implement BlockScanner. nil reads everything.
	Blocks *BlockRange
	// MaxValueBytes, when > 0, makes the scan fail with a *ValueTooLargeError
	// on any single value of at least this many bytes (RDS fails an export on
	// a large object of about 500 MB).
	MaxValueBytes int64
}

// ScanColumn is one projected column and its target.
type ScanColumn struct {
	Column
	Target typemap.Target
}

// KeyRange is a half-open range [Lower, Upper) over Column (the table's Key
// when Column is ""). IncludeNull adds the rows whose key is NULL, so that
// exactly one range of a plan reads them.
//
// An integer key is bounded by Lower and Upper; any other key by LowerBytes
// and UpperBytes, which are values of the column exactly as the driver's
// [KeyBoundarySampler] returned them, compared by the driver in the column's
// own order (its collation). Only one pair is set. A nil bound is unbounded;
// a non-nil empty slice is the empty value.
type KeyRange struct {
	Column                 string
	Lower                  *int64
	Upper                  *int64
	LowerBytes, UpperBytes []byte
	IncludeNull            bool
}

// BlockRange is a half-open range [Lower, Upper) of a table's physical
// pages (PostgreSQL: ctid >= '(Lower,0)' AND ctid < '(Upper,0)'). A nil
// Upper reaches the end of the table, pages added since planning included.
type BlockRange struct {
	Lower uint32
	Upper *uint32
}

// KeySampler is implemented by snapshots that can describe how an integer
// key is distributed, so that key ranges hold similar row counts however
// skewed the key is.
type KeySampler interface {
	// KeyQuantiles returns at most n-1 ascending, distinct boundaries that
	// split the non-NULL values of column into n groups of about equal size
	// (from statistics or a sample; they need not be exact). It may return
	// fewer, or none for a table too small to split.
	KeyQuantiles(ctx context.Context, t Table, column string, n int) ([]int64, error)
}

// KeyBoundarySampler is implemented by snapshots that can split a table on
// a key that is not an integer (Key.Integer false: a string key, say), so
// that tables without an integer key are still read in parallel.
type KeyBoundarySampler interface {
	// KeyBoundaries returns at most n-1 values of column, strictly
	// ascending in the column's own order (its collation), that split the
	// non-NULL rows into n groups of about equal size. Each value is opaque
	// to the caller and is passed back unchanged as KeyRange.LowerBytes or
	// UpperBytes. It may return fewer, or none for a table too small to
	// split.
	KeyBoundaries(ctx context.Context, t Table, column string, n int) ([][]byte, error)
}

// BlockScanner is implemented by snapshots whose scans accept
// ScanRequest.Blocks, so that tables without a usable key can still be read
// in parallel.
type BlockScanner interface {
	ScansBlocks() bool
}

// Rows is a stream of rows. It is not safe for concurrent use.
type Rows interface {
	// Next advances to the next row; it returns false at the end or on an
	// error (see Err).
	Next() bool
	// Row appends the current row's values to dst, one per ScanRequest
	// column, in order. A NULL is parquet.NullValue(); any other value is of
	// the physical type of the column's target (parquet.Int32Value for
	// INT32, parquet.ByteArrayValue for BYTE_ARRAY, ...). Repetition and
	// definition levels and column indexes are left for the writer to set.
	// Byte-array values may alias the driver's buffers: they are valid only
	// until the next call to Next.
	Row(dst []parquet.Value) ([]parquet.Value, error)
	// Err is the error that ended iteration, nil at a clean end.
	Err() error
	// Close releases the scan's connection; it is safe to call twice.
	Close() error
}

// RowsWarnings is implemented by Rows that have warnings to report once
// iteration ended (zero dates written as NULL, counted per column). The
// exporter calls it after Next returned false without error.
type RowsWarnings interface {
	Warnings() []Warning
}

// Warning is one entry of WarningMessage.general or a skipped objective.
type Warning struct {
	Target string `json:"target,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Skipped is a table that exists and is not exported.
type Skipped struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
	// Detail says how to fix it where there is a fix (the GRANT that is
	// missing).
	Detail string `json:"detail,omitempty"`
}

// Reasons for skipping tables and for general warnings. The two RDS documents
// come first; the rest are snapexport's, named in the same style.
const (
	ReasonPermissionsDoNotExist     = "PERMISSIONS_DO_NOT_EXIST"
	ReasonFailedToExtractTablesList = "FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"
	ReasonUnsupportedColumnName     = "UNSUPPORTED_CHARACTERS_IN_COLUMN_NAME"
	ReasonUnsupportedTableName      = "UNSUPPORTED_CHARACTERS_IN_TABLE_NAME"
	ReasonTemporaryTable            = "TEMPORARY_TABLE"
	ReasonUnloggedTable             = "UNLOGGED_TABLE"
	ReasonForeignTable              = "FOREIGN_TABLE"
	ReasonOmittedColumns            = "COLUMNS_NOT_EXPORTED"
	ReasonNoMatch                   = "NO_MATCHING_OBJECTS"
	ReasonConsistencyFallback       = "SINGLE_CONNECTION_SNAPSHOT"
	ReasonNonTransactionalTable     = "NON_TRANSACTIONAL_TABLE"
	ReasonZeroDates                 = "ZERO_DATES_WRITTEN_AS_NULL"
	ReasonRowTooLarge               = "ROW_TOO_LARGE"
	// ReasonFewerConnections: the server or the account's connection limit
	// refused connections, so fewer scans run at once than asked for.
	ReasonFewerConnections = "FEWER_CONNECTIONS_THAN_WORKERS"
)

// ValueTooLargeError reports a single value at or above the scan's
// MaxValueBytes.
type ValueTooLargeError struct {
	Database, Schema, Table, Column string
	Size, Limit                     int64
}

func (e *ValueTooLargeError) Error() string {
	return "source: value of " + itoa(e.Size) + " bytes in column " + e.Column + " of " +
		e.Database + "." + e.Schema + "." + e.Table + " reaches the limit of " + itoa(e.Limit) + " bytes"
}

// ErrUnsupportedConversion is wrapped by a driver that cannot convert a
// column to the requested target (an override it does not support).
var ErrUnsupportedConversion = errors.New("source: unsupported conversion")
