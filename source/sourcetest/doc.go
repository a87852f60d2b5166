// Package sourcetest is the conformance suite every [source.Source] driver
// runs: one subtest per "must" of the contracts in package source, against a
// real database, in the shape of gocloud's drivertest.
//
// # Using it
//
// A driver's test implements [Harness] (how to open a Source on a test
// database, and how to run SQL on it outside any snapshot) and calls
// [RunConformanceTests]:
//
//	func TestConformance(t *testing.T) {
//		sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
//			return newHarness(ctx, t) // skip through internal/testenv when the server is absent
//		})
//	}
//
// The maker is called once per subtest; the suite closes what it opens, in
// reverse order (rows, snapshot, source, then drops its tables, then
// [Harness.Close]), so a DROP never waits for a snapshot that still holds a
// lock.
//
// [ReadAll], the suite's way to read a whole scan (values cloned, the Row
// contract checked), is exported for drivers' own tests.
//
// # Portability
//
// The suite's SQL is the subset PostgreSQL, MySQL/MariaDB and SQLite share:
// CREATE TABLE with BIGINT, INTEGER, DOUBLE PRECISION and VARCHAR(n)
// columns, identifiers quoted with [Harness.QuoteIdent], multi-row INSERT,
// INSERT ... SELECT over a cross join (to make a large table without
// generate_series or recursive CTEs), UPDATE, DELETE, CREATE VIEW. Binary
// columns are not portable (BYTEA, VARBINARY, BLOB and their literals
// differ), so the binary checks run only when the harness also implements
// [BinaryHarness]. Strings include non-ASCII UTF-8, so the test database must
// store UTF-8 (utf8mb4 on MySQL/MariaDB).
//
// Table and view names carry a random prefix ("sct_<hex>_"), so runs of
// several packages against one server do not collide, and every object the
// suite creates is dropped when its subtest ends.
//
// # What it checks
//
//   - Identity: the engine name, and one identity for two sources opened on
//     the same database.
//   - Describe: Tables lists exactly the tables the [source.Filter] admits
//     (no views, no excluded tables), with columns in declared order and
//     nullability, in a stable order; Filter.Database is asked before any
//     Filter.Table of that database, and a database it refuses is not read.
//   - FullScan: values of every kind (Int32, Int64, Double, String, Binary
//     where portable), extremes, empty strings and NULLs; Rows.Row appends.
//   - Projection: a subset of columns, reordered.
//   - EmptyTable: Next is false at once with Err nil.
//   - MixedCaseIdentifiers: mixed-case table and "Col-1"-style columns.
//   - KeyRanges: Table.Key for an integer primary key; plans of ranges (nil
//     ends, IncludeNull on the first, bounds at the int64 extremes, an empty
//     range) whose union is the table, with no duplicates and no row outside
//     its range; the same on a nullable column.
//   - Cancel: cancelling a scan's ctx mid-table makes Next return false
//     within 2 s with Err wrapping context.Canceled, and leaves no goroutine.
//   - SnapshotIsolation: rows inserted, updated and deleted after Snapshot
//     returns are invisible to a scan opened before the writes and to several
//     concurrent scans opened after them (and visible to a new snapshot).
//   - MaxValueBytes: a value of exactly the limit fails with a
//     *source.ValueTooLargeError naming the column; one byte less passes.
//   - RowsCloseTwice, SnapshotInfo (a Time is set).
//   - ReadOnly: INSERT, UPDATE and DELETE through every connection of the
//     source and its snapshot fail and change nothing (harnesses that
//     implement [WriteHarness]; every driver of this repository does).
package sourcetest
