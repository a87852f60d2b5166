// Package source defines the interface every database driver implements:
// a [Source] opens a [Snapshot] (one point in time), which lists [Table]s and
// streams their rows through [Rows], converted to the Parquet physical types
// the [typemap] chose.
//
// # Drivers
//
// Drivers live in sub-packages and register a URL scheme in init, the
// database/sql idiom:
//
//	import _ "github.com/snapexport/snapexport/source/pgsource"   // postgres://, postgresql://
//	import _ "github.com/snapexport/snapexport/source/mysqlsource" // mysql://, mariadb://
//	import _ "github.com/snapexport/snapexport/source/sqlitesource" // sqlite://
//
// Each driver also has an explicit constructor taking an already-open
// connection pool. Every driver passes sourcetest.RunConformanceTests.
//
// # Contracts
//
// Interface comments are contracts: "must" is tested by the conformance
// suite. The central one is consistency: all scans of one snapshot, on
// however many connections, see the same point in time.
//
// # Several processes, one snapshot
//
// A distributed export's workers read the coordinator's snapshot through
// two optional interfaces: [Joiner] joins a snapshot another process
// exported, by its [SnapshotInfo.ID]; [Fingerprinter] names the server
// and databases a Source reads, so that a worker pointed at another source
// refuses to run. A driver without Joiner (MySQL, MariaDB) has no snapshot
// import.
//
// # Hot path
//
// [Rows.Row] appends parquet.Value structs, which hold numbers inline and
// byte slices by reference, so no value is boxed in an interface and text
// can travel from the wire into the Parquet page without a copy of its own.
package source
