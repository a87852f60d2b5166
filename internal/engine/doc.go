// Package engine is one export task's data path: snapshot → plan → parts →
// tables info. It never sees the task's record or status; the task
// lifecycle in the root package drives it through [Run] and hears from it
// through a [Reporter].
//
// Reading order:
//
//   - job.go: what a run is given ([Job]), what it reports, and [PartSpec],
//     the serialisable description of one part, the unit of work a queue
//     can carry to another machine.
//   - engine.go: [Run.Export], the whole path; exportParts hands the parts
//     to a [Scheduler] (pool.go: the in-process [Pool]).
//   - plan.go: skip rules, type mapping, partition.Plan, folders;
//     resume.go: a resumed table's recorded plan and kept parts.
//   - part.go: [RunPart], one part: budget → Scan → Rows.Row →
//     writer.Roller → sink.Writer, where a row becomes a Parquet value and
//     a file becomes visible (countingWriter.Close, after the fence).
//   - budget.go: the memory semaphore and the huge-row policy.
//   - tables.go: per-table counters, [Run.Settle], export_tables_info.
//   - sweep.go: what older runs and abandoned writes left.
//   - failure.go: the FailureCause catalogue, keyed on the sink's error
//     sentinels.
package engine
