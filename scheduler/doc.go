// Package scheduler holds the schedulers that run a task's parts beyond
// the in-process pool (engine.Pool, the default). Each lives in its own
// package, so that a program depends on a queue only when it imports it:
//
//   - riversched: parts as River jobs in a PostgreSQL queue database, run
//     by workers on any number of machines.
package scheduler
