// Package sqlitesource is the SQLite [source.Source], on modernc.org/sqlite
// (pure Go, no cgo): snapexport's embedded default, and the engine its
// examples run on without a server.
//
// # URL
//
// The package registers the "sqlite" scheme (import it for its side effect):
//
//	sqlite:///var/lib/app/shop.db   an absolute path
//	sqlite:data/shop.db             a path relative to the working directory
//
// Paths are percent-encoded ("%20" for a space). The URL takes no host
// ("sqlite://./x.db" is refused rather than read as a relative path), no
// parameters and no fragment; [ParseURL] explains each refusal. [Open] and
// [New] are the explicit constructors; [Options] tunes them.
//
// # Opening
//
// [Open] opens the file read-only (SQLite's mode=ro): a path that does not
// exist is an error naming it, and no empty database is ever created in its
// place. Open reads the schema once, so a file that is not a SQLite database
// fails at once, with an error naming the file. An empty file is a valid,
// empty database, as SQLite says.
//
// [New] wraps a *sql.DB the caller already has (one that writes the database,
// or an in-memory one) and does not close it.
//
// # Names
//
//   - Engine: "sqlite".
//   - Database: the file's base name without its extension ("shop" for
//     shop.db), or [Options.Database].
//   - Schema: "main", so a table's target is shop.main.orders.
//   - Identity: "sqlite:///absolute/path/shop.db" ([URL]), whatever form the
//     path was given in.
//
// # Tables
//
// Tables lists the tables of the main database in name order. Views are not
// listed; SQLite's internal sqlite_* tables (sqlite_sequence, sqlite_stat1)
// are not either; a virtual table (FTS5, R*Tree) is skipped as
// FOREIGN_TABLE, since a module produces its rows, while its shadow tables
// (docs_content, docs_data...), which hold the data in the file, are listed
// as ordinary tables. Generated columns are columns.
//
// Each column reports its declared type in lowercase: ColumnType is the whole
// declaration ("varchar(20)", "unsigned big int"), DataType the name without
// arguments ("varchar"); both are "" for a column declared without a type.
// The arguments fill Length for text types and Precision, Scale for others.
//
// Key is the single-column primary key when its declared type has INTEGER
// affinity (a rowid alias "INTEGER PRIMARY KEY", a BIGINT PRIMARY KEY, the key
// of a WITHOUT ROWID table), or else a unique, complete, single-column index
// on a NOT NULL integer column. Its Min and Max come from two index lookups.
// EstimatedRows is count(*) (SQLite counts the smallest b-tree, tens of
// milliseconds per million rows) and EstimatedBytes the table's pages in the
// dbstat virtual table.
//
// # Type mapping
//
// SQLite has no RDS profile; the default ([typemap.RDS]) follows column
// affinity (https://www.sqlite.org/datatype3.html §3.1), rules applied in
// SQLite's order:
//
//	declared type                        affinity  Parquet
//	contains "INT"                       INTEGER   INT64
//	contains "CHAR", "CLOB" or "TEXT"    TEXT      BYTE_ARRAY (STRING)
//	contains "BLOB", or no type          BLOB      BYTE_ARRAY
//	contains "REAL", "FLOA" or "DOUB"    REAL      DOUBLE
//	BOOLEAN, BOOL                        NUMERIC   BOOLEAN
//	contains "BINARY", or BYTEA          NUMERIC   BYTE_ARRAY
//	anything else: DECIMAL, NUMERIC,     NUMERIC   BYTE_ARRAY (STRING), the
//	  DATE, DATETIME, TIMESTAMP, JSON...             value's text as stored
//
// NUMERIC affinity stores integers, reals and text side by side, so only a
// string keeps every value; dates stay the text (or number) the application
// stored, since SQLite has no date type to say which convention that is.
// Overrides pick any other target; the conversions below make them work.
//
// # Values
//
// SQLite is dynamically typed: a value's storage class (INTEGER, REAL, TEXT,
// BLOB) need not match its column. A value converts to its column's target
// when nothing is lost, and otherwise fails the scan with a
// [*ConversionError] naming the table, the column, the storage class and the
// value (the fix is an override to a target that holds it, usually string):
//
//	target        INTEGER           REAL                 TEXT                     BLOB
//	int64         as is             if integral          if an integer ("42",     error
//	                                                       "42.0", "1e3")
//	int32, int16  if in range       if integral, range   same, and in range       error
//	double        converted         as is                if a decimal number      error
//	float         converted         rounded to 32 bits   if a decimal number      error
//	boolean       0, 1              0.0, 1.0             "0" "1" "true" "false"   error
//	string        decimal text      SQLite's text form   as is                    if UTF-8
//	binary        decimal text      SQLite's text form   its UTF-8 bytes          as is
//	timestamp     unix seconds      Julian day number    YYYY-MM-DD[ HH:MM[:SS    error
//	                                                       [.fff]]][Z|±HH:MM], UTC
//	                                                       without a zone
//	decimal(p,s)  if it fits p, s   shortest decimal     if a plain decimal       error
//	                                  text fits p, s       that fits p, s
//
// "SQLite's text form" is CAST(x AS TEXT): 0.1+0.2 is "0.30000000000000004",
// 1e20 is "1.0e+20". Scans read every column through an expression ("+x"),
// so the driver never turns DATETIME text into a time.Time: dates come out
// exactly as stored. A text or blob value of ScanRequest.MaxValueBytes bytes
// or more fails the scan with a [*source.ValueTooLargeError].
//
// # Consistency
//
// A SQLite connection gets its snapshot when its read transaction begins, and
// database/sql offers no way to give that snapshot to another connection
// (sqlite3_snapshot_open is not reachable through it). A snapshot therefore
// begins a read transaction on SnapshotOptions.Workers connections one after
// another, with a probe connection reading PRAGMA data_version before the
// first and after the last. That value changes whenever another connection
// commits, so when both reads agree no commit happened in between and all the
// connections see the same state of the file. When they differ, the
// snapshot tries again (three times in all); if writes keep landing, it keeps
// the first connection alone, which is consistent by itself, and says so in
// SnapshotInfo.Warnings (SINGLE_CONNECTION_SNAPSHOT). An in-memory database,
// or a pool [New] gets that allows fewer than three connections, is read
// through one connection, with the same warning when Workers asked for more.
//
// Scans never wait for a connection: SQLite runs several statements on one
// connection, so each scan goes to the snapshot connection with the fewest
// open scans, and any number of scans may be open at once. A snapshot has at
// most [MaxConnections] connections.
//
// In WAL mode writers carry on during an export. In rollback-journal mode
// (DELETE, TRUNCATE, PERSIST) every reader holds a shared lock for as long as
// its transaction lasts, so writers wait (and fail with SQLITE_BUSY after
// their busy timeout) until the snapshot closes: switch such a database to
// WAL, or export a copy, if the application must write meanwhile.
//
// SnapshotInfo.ID holds journal_mode, schema_version, page_count,
// data_version (the first connection's), file_change_counter (header bytes
// 24-27, which count commits in rollback-journal mode) and connections.
// SQLite does not show its WAL position to SQL, so in WAL mode these change
// only with the schema, the file's size or a checkpoint.
//
// # Cancellation
//
// modernc.org/sqlite cancels a statement with sqlite3_interrupt, which
// aborts every statement running on the connection, and snapshot
// connections carry several scans. So statements run without the scan's
// context, and Next checks the context before each row: a cancelled scan
// stops at its next row with an error wrapping context.Canceled. The
// queries a scan issues (a table walk or a key-index range) produce rows
// steadily, so that is prompt. Tables likewise checks its context between
// tables.
package sqlitesource
