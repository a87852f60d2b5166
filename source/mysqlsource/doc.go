// Package mysqlsource reads MySQL and MariaDB for snapexport, through
// github.com/go-sql-driver/mysql: one consistent snapshot shared by several
// connections, the tables RDS would export, and rows streamed in the text
// protocol and converted to the Parquet types of the RDS mapping
// (reference §10.1, typemap's "mysql" and "mariadb" profiles).
//
// # Opening
//
// Importing the package registers the URL schemes mysql and mariadb with
// package source:
//
//	mysql://user:password@host:3306/database?param=value
//	mariadb://user@localhost/?socket=/run/mysqld/mysqld.sock
//
// The database in the path is the one exported (the task record's SourceArn
// names it; [Options.Databases] narrows otherwise); a URL with none
// (mysql://user@host:3306/) exports every database the account can see, as
// RDS exports the whole snapshot. A database asked for that the account
// cannot see (MySQL shows an account only the databases it has privileges
// on) is a PERMISSIONS_DO_NOT_EXIST warning with the GRANT. Only these parameters are accepted; any other is refused
// before anything connects, with an error naming it (go-sql-driver/mysql
// would run an unknown parameter as SET name=value on the server, and
// ?password= would change the account's password):
//
//   - socket: connect to a Unix socket instead of host:port.
//   - lock: auto (default) or none; none never takes FLUSH TABLES WITH READ
//     LOCK ([Options.NoLock]).
//   - lock_wait_timeout: how long the lock, and a scan's wait for a table's
//     metadata lock, may wait, a Go duration (default 10s,
//     [Options.LockWaitTimeout]).
//   - option_file: a MySQL option file (the mysql client's ~/.my.cnf
//     format) whose [client] group gives user and password (see Secrets).
//   - the go-sql-driver/mysql parameters tls, timeout, readTimeout,
//     writeTimeout, compress, maxAllowedPacket, allowCleartextPasswords,
//     allowNativePasswords and allowFallbackToPlaintext, as in its DSN.
//     They choose the transport, timeouts and how to authenticate; none
//     runs a statement or changes what a session reads. charset,
//     collation, parseTime, loc, interpolateParams and session variables
//     are this package's (see Sessions).
//
// # Secrets
//
// The password is taken from the URL, else from the option_file's [client]
// password, else from the MYSQL_PWD environment variable ([EnvPassword]),
// so that it need not appear in a URL. It never reaches the server as
// statement text, an error, a record or the identity.
//
// [OpenConfig] takes a *mysql.Config and [OpenDB] an already-open *sql.DB.
// [Source.Identity] is the URL without password or parameters; passwords
// appear in no error, log or record.
//
// # Consistency
//
// [Source.Snapshot] uses mydumper's method. The snapshot opens
// SnapshotOptions.Workers connections (at most [MaxSnapshotConns], 32; when
// the server refuses more, ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS
// or an account's MAX_USER_CONNECTIONS, it keeps one fewer than it got and
// Info().Warnings says FEWER_CONNECTIONS_THAN_WORKERS), then FLUSH TABLES WITH READ LOCK on
// another connection blocks every commit while each of them runs START
// TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY (at REPEATABLE READ, the
// only level where the snapshot means anything), and the server clock, the
// binary log position (SHOW MASTER STATUS, SHOW BINARY LOG STATUS on MySQL
// ≥ 8.2) and the GTID state (MariaDB @@gtid_binlog_pos, MySQL
// @@gtid_executed) are read; then UNLOCK TABLES. The lock is held for
// milliseconds, but FLUSH TABLES waits for running statements first, and
// blocks writes while it waits: the wait is bounded by
// [Options.LockWaitTimeout]. Every scan borrows one of the snapshot's
// connections and gives it back when its rows are closed; Scan waits while
// all are busy.
//
// Where the account lacks the RELOAD privilege the lock needs (RDS does not
// grant it), or the lock is not had in time, the snapshot falls back to one
// connection holding one consistent snapshot, which serves every scan in
// turn; SnapshotInfo.Warnings carries SINGLE_CONNECTION_SNAPSHOT. Points in
// time are never mixed. On MariaDB the fallback still knows its binary log
// position (the binlog_snapshot_* status variables); on MySQL it does not,
// and records none.
//
// MySQL 8's LOCK INSTANCE FOR BACKUP is not used: it blocks DDL, not
// commits, so it cannot make several transactions start at one point.
//
// Tables of engines without transactions (MyISAM, Aria, MEMORY, ...) are
// flagged Table.NonTransactional and warned about (NON_TRANSACTIONAL_TABLE,
// in Info().Warnings once Tables listed them): the lock is released as soon
// as the transactions started, so they are read as they are when their scan
// runs, not as of the snapshot.
//
// While a snapshot is open its transactions hold metadata locks on every
// table they read: DDL on those tables waits until the snapshot is closed.
// Another snapshot connection's read of such a table then queues behind the
// waiting DDL: it gives up after [Options.LockWaitTimeout] with an error
// naming the table and the DDL (the server's default wait is a day, and the
// DDL waits for the export), and cancelling the scan interrupts the wait.
// The snapshot does not cover table definitions: a table dropped or rebuilt
// (ALTER that copies it) after the snapshot and before a connection read it
// fails its scan with an error saying so; an instant ALTER (ADD COLUMN) is
// read as of the snapshot, with the columns listed.
//
// # Sessions
//
// Every connection is read-only: a source opened from a URL or a
// *mysql.Config runs SET SESSION TRANSACTION READ ONLY on each new
// connection of its pool before using it, snapshot connections (those of
// an [OpenDB] pool too) set it with their isolation level, and snapshot
// transactions start READ ONLY, so a write through the exporter's
// connections fails (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION). Snapshot
// connections run with time_zone '+00:00' (TIMESTAMP values are
// read in UTC), sql_mode 'NO_ENGINE_SUBSTITUTION' (nothing that changes how
// values print: no PAD_CHAR_TO_FULL_LENGTH, no ANSI_QUOTES; servers with
// different default modes export the same bytes), character set utf8mb4,
// net_write_timeout [Options.NetWriteTimeout] (1h: a slow upload must not
// abort a scan), no statement time limit (max_statement_time /
// max_execution_time 0), and a wait_timeout long enough for an idle
// connection to outlive the longest table another one reads.
//
// # What is exported
//
// Base tables (and MariaDB system-versioned tables, their current rows) of
// every database except mysql, information_schema, performance_schema and
// sys; the schema is the database. Views and sequences are not listed. A
// table whose SELECT * the account may not run is skipped with
// PERMISSIONS_DO_NOT_EXIST and the GRANT that fixes it. A partitioned table
// lists its partitions (subpartitions are read with their partition), each
// scanned with PARTITION (p). The column-name skip rule (§5.6) is the
// exporter's, for every engine.
//
// # Table.Key: what is split, and how
//
// Table.Key is the column the planner may cut into key ranges read in
// parallel on the snapshot's connections (all in batch folder 1). It is
// chosen among the table's unique indexes, the primary key first at each
// step:
//
//  1. an integer column with a unique index of its own, NOT NULL;
//  2. a CHAR, VARCHAR, BINARY or VARBINARY column with a unique B-tree
//     index of its own, NOT NULL, else nullable (the first range also
//     reads the NULLs); a nullable integer column likewise;
//  3. the leading column of the primary key or of a multi-column unique
//     B-tree index, if it is an integer or one of those string types. Its
//     values repeat, so parts are less even, but ranges over any column
//     are disjoint: every row is still read once.
//
// Prefix indexes (they order only the first characters), hash indexes
// (except for step 1) and ignored or invisible indexes are not used; a
// table with none of these is read by one worker, in batches.
//
// An integer key (Key.Integer) has its Min and Max read in the snapshot.
// A BIGINT UNSIGNED key is reported with Max clamped to MaxInt64: a
// KeyRange bound b means the integer b on an unsigned column too, so values
// above MaxInt64 belong to the range whose Upper is nil.
// [Snapshot.KeyQuantiles] (source.KeySampler) places its boundaries from
// the storage engine's records-in-range estimates (EXPLAIN over the key's
// index, refined cell by cell where rows cluster, through the index prefix
// for a composite key), so no row is read to plan and a skewed key still
// splits evenly.
//
// A string key is sampled by [Snapshot.KeyBoundaries]
// (source.KeyBoundarySampler): inside the snapshot, it walks the key's
// index once in strides of about rows/4n entries (SELECT CAST(k AS BINARY)
// ... FORCE INDEX ... WHERE k > <previous sample> ORDER BY k LIMIT 1
// OFFSET stride−1), transfers only the samples, and picks the n−1 nearest
// to each n-th of the index. The stride follows the table's row estimate
// and adapts when it is wrong. Boundaries are the column's own bytes,
// strictly ascending in its collation (values equal under it, 'a' and 'Á'
// under utf8mb4_general_ci or 'a' and 'a ' under PAD SPACE, yield one
// boundary). A scan bounds its range with literals of the column's
// character set and collation, _utf8mb4 X'…' COLLATE utf8mb4_general_ci
// (_binary X'…' for binary strings), through FORCE INDEX on the key's
// index: the server compares exactly as the index orders whatever the
// connection's character set or collation, so keys equal under the
// collation never straddle two ranges.
//
// # Values
//
// Rows stream from the server as the caller reads them. Each value reaches
// the conversion through an sql.Scanner, as the driver produced it: text
// still in the driver's buffer (no copy; it goes into parquet.ByteArrayValue
// as it is), or the int64, uint64 or float64 go-sql-driver/mysql parses
// integer and floating-point columns into. Decimals and dates are parsed in
// place; nothing in the conversion allocates. Specifics:
//
//   - FLOAT is selected as (c + 0e0): the text protocol prints FLOAT with 6
//     significant digits, the DOUBLE expression prints the stored value
//     exactly (16777217 stored as 16777216 reads 16777216, not 16777200);
//     DOUBLE(M,D) likewise, because it prints rounded to D places.
//   - DECIMAL(p ≤ 38) becomes the unscaled integer (INT32, INT64, or the
//     big-endian FIXED_LEN_BYTE_ARRAY of typemap.DecimalFixedLen; values
//     beyond int64 go through typemap.UnscaledDecimal); BIGINT UNSIGNED
//     is DECIMAL(20,0) on 9 bytes.
//   - DATETIME's wall clock is taken as UTC; TIMESTAMP is read in UTC.
//     Zero and invalid values ('0000-00-00 00:00:00', month or day 0,
//     February 30 under ALLOW_INVALID_DATES) become NULL and are counted
//     per column in the rows' Warnings (ZERO_DATES_WRITTEN_AS_NULL). DATE
//     and TIME keep the server's text, zero dates included.
//   - BIT, BINARY, BLOB and geometry values are the server's bytes
//     (geometry in MySQL's internal SRID + WKB form).
//   - The typed profile (see typemap): DATE as DATE (zero dates NULL and
//     counted as above), DATETIME as TIMESTAMP with isAdjustedToUTC=false
//     and TIMESTAMP with true (same numbers: the session's time_zone is
//     '+00:00'), JSON as JSON after checking the text is valid JSON (an
//     error naming the row otherwise: MariaDB's JSON is LONGTEXT with a
//     CHECK, which check_constraint_checks=0 can bypass; Describe finds
//     MariaDB's JSON columns by that json_valid CHECK), ENUM as ENUM, SET
//     as a LIST of its members (the empty string is the empty list). Errors of a value
//     name the table's key of the row: column "j" (row id = 9).
//
// ScanRequest.MaxValueBytes fails a scan with *source.ValueTooLargeError.
// The server's max_allowed_packet bounds what it can send at all.
//
// # Servers tested
//
// Every test runs against MariaDB 10.11 (the machine's server): the
// FLUSH TABLES WITH READ LOCK path and the single-connection fallback (two
// accounts, with and without RELOAD), the MariaDB position reads (with the
// binary log off, so no position is recorded there), KILL QUERY
// cancellation, zero dates, sql_mode differences, partitions, privileges.
// MySQL 8 could not be installed here; its paths are written from the
// MySQL 8.0/8.4 manual and are untested: SHOW BINARY LOG STATUS (8.2+),
// @@gtid_executed, SET max_execution_time, the JSON type (text in the
// protocol, mapped to STRING), and the engine name taken from VERSION().
// MySQL 5.7 differs from 8.0 only by the absence of those renames.
package mysqlsource
