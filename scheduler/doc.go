// Package scheduler is the seam between an export task and whatever runs
// its parts. A task plans its tables into parts, each described by a
// [PartSpec] that is serialisable and holds no secret, and hands them to
// a [Scheduler]: the in-process [Pool] (the default), or a queue whose
// workers on other machines run them (package scheduler/riversched). The
// task's lifecycle, records, progress, events, describe and cancel are
// the same with either.
package scheduler
