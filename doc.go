// Package snapexport exports relational databases to Apache Parquet in an
// object store, the way Amazon RDS "export DB snapshot data to Amazon S3"
// does, for databases anyone runs: PostgreSQL, MySQL, MariaDB and SQLite.
//
// A task reads every selected table from one consistent snapshot, converts
// each column with the RDS type mapping (package typemap), writes compressed
// Parquet files (package writer) and RDS's metadata files to a sink (S3 or
// any S3-compatible store, a local directory, memory), in RDS's layout:
//
//	[prefix/]<id>/<database>/<schema>.<table>/<batch>/part-<part number>-<uuid>.gz.parquet
//	[prefix/]<id>/export_info_<id>.json
//	[prefix/]<id>/export_tables_info_<id>_from_<n>_to_<m>.json
//
// # Tasks
//
// An [Exporter] starts, describes and cancels tasks with RDS's operations
// and fields ([Exporter.StartExportTask], [Exporter.DescribeExportTasks],
// [Exporter.CancelExportTask]). A [Task] is watched through
// [Task.Progress] channels, whose values are cumulative and never block the
// export, and awaited with [Task.Wait]. Statuses follow RDS: STARTING,
// IN_PROGRESS, then COMPLETE or FAILED; a cancelled task goes CANCELING
// then CANCELED and keeps what it finished; nothing half-written is ever
// visible.
//
// # One owner per task
//
// Each run of a task owns a fencing generation, claimed with a conditional
// create of lease_<id>_<g>.json; before every publish of a data file and
// every record write the run checks that no newer generation exists, and
// every data file's key is journaled before the file is opened, so a run
// that resumes a task deletes exactly what older runs left and nothing
// else. The protocol and its residual window are described in
// internal/lease and the README.
//
// # Parts and schedulers
//
// Each table is planned into parts (package plan): key ranges, page
// ranges, or one part per table partition. A part is described by a
// serialisable scheduler.PartSpec and run by a scheduler: the in-process
// pool by default, or one whose workers run elsewhere
// (TaskOptions.Scheduler). The README's "Layout of the code" is the
// reading path through the packages.
//
// # Drivers
//
// Sources and sinks are drivers registered by URL scheme; import the ones a
// program uses for their side effect:
//
//	import (
//		_ "github.com/snapexport/snapexport/source/pgsource"
//		_ "github.com/snapexport/snapexport/sink/s3sink"
//	)
//
// or pass already-open drivers in [StartExportTaskInput.Source] and
// [StartExportTaskInput.Sink].
//
// # Errors
//
// Errors match the sentinels named after the RDS faults with errors.Is
// ([ErrExportTaskAlreadyExists], [ErrInvalidExportOnly], ...); the driver
// error underneath stays reachable with errors.As. A FAILED task's
// FailureCause is a sentence a person can act on.
package snapexport
