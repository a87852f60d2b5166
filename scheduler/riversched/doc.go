// Package riversched runs an export's parts on a fleet of workers through
// River (github.com/riverqueue/river), a job queue in PostgreSQL: one job
// per part, retried, rescued from dead workers, cancellable, visible in
// riverui. The coordinator (the process that runs the task: snapshot,
// plan, records, tables info) passes a [Scheduler] as the task's
// scheduler; any number of [Worker]s, in other processes or machines, run
// the parts with engine.RunPart. It is the only package, with the command
// that imports it, that depends on River.
//
// # Queue database
//
// [Migrate] installs River's schema with River's own migrator
// (rivermigrate), and snapexport's table snapexport_part_key (the attempt
// journal below); `snapexport queue migrate --queue URL` runs it.
// [NewScheduler] and [NewWorker] check the schema first ([CheckSchema]):
// a database without it is an error wrapping [ErrNoSchema], which names
// that command.
//
// # Jobs
//
// [Scheduler.Run] inserts one job of kind [PartKind] per part in one
// transaction (InsertManyTx), so a coordinator that crashes leaves all of
// its plan in the queue or none of it. A job's arguments ([PartArgs]) are
// the part's engine.PartSpec (table, columns and targets, range, layout,
// writer settings, snapshot identity), the coordinator's version, the
// source's fingerprint and the consistency mode: never a URL, password or
// key. A worker opens the source and the sink with credentials of its own
// (flags, environment, its pod's secrets), and refuses a part, naming
// both sides, when its version or its source's fingerprint differs from
// the coordinator's (the job is cancelled: no other attempt would do
// better).
//
// The result of a part is the job's output (river.RecordOutput): River
// writes it in the same UPDATE that completes the job, so a completed job
// always has its result and no result exists for a job that did not
// complete. Run polls the queue for its jobs' ends and reports each part
// once; a part that failed MaxAttempts times, or was refused, is reported
// with the last error.
//
// # One snapshot
//
// With [ConsistencySnapshot] (the default), every worker joins the
// coordinator's snapshot (source.Joiner: PostgreSQL's SET TRANSACTION
// SNAPSHOT, on the same server, a hot standby included), which the
// coordinator holds for the task's life; a worker whose source cannot join
// (MySQL, MariaDB) refuses the part. [ConsistencyNone] lets each part read
// its own point in time, for sources that cannot join, when the user asks
// for it.
//
// # Heartbeat and rescue
//
// River rescues a job that has been running for longer than
// RescueStuckJobsAfter since its attempted_at, taking its worker for dead;
// its rescuer runs every 30 s on the leader. A part may run for longer
// than any fixed timeout, so the job has none, and each running attempt
// beats instead: every Heartbeat it moves attempted_at forward, only while
// the job is running at this attempt and not cancelled. A live worker's
// job is never rescued; a dead (killed) worker's is, RescueAfter after its
// last beat, and another worker runs the part again. The beat is also how
// a worker notices, within one heartbeat, that its attempt was cancelled
// (by the coordinator's cancel) or rescued: it stops the part.
//
// # Fencing
//
// A rescued job may run again while the first attempt is still alive
// (stalled, cut off from the queue). Only the attempt whose result the
// coordinator accepts is ever in the tables info, and every other
// attempt's objects are removed:
//
//   - Write-ahead journal: before a file opens, the worker inserts its key,
//     with the job, attempt and part, in snapexport_part_key. Every object
//     any attempt may have published is known there.
//   - Fence before every publish (engine.Fence): the job must still be
//     running at this attempt and not cancelled (River's river_job row),
//     and the destination must hold the part's lease generation and no
//     newer lease of another run (a resumed coordinator). An attempt that
//     fails it aborts its file and deletes the ones it published.
//   - Sweep: when a job completes, the coordinator deletes every journaled
//     key of that job that is not a file of the accepted result, and when
//     Run ends (complete, failed or cancelled) every key of the task not
//     accepted. A resumed task's coordinator first cancels the jobs older
//     generations left, and deletes what they journaled for the parts it
//     plans again.
//
// The residual window is the lease's: an attempt that passed its fence and
// then stalls for longer than the rest of the task, before its upload
// ends, can publish a file after the final sweep. Its key is in the
// journal.
//
// # Cancel
//
// When the task's context ends (cancel-export-task, a lost lease), Run
// cancels every unfinished job (JobCancel). A running attempt stops within
// one heartbeat (sooner: River notifies its worker), aborts its file and
// deletes what it published; Run waits for the attempts to stop (StopWait)
// and sweeps. A cancelled distributed task thus keeps the parts that
// completed, and no partial part.
package riversched
