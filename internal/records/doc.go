// Package records is the cross-process record protocol of export tasks:
// what a destination holds besides the data files, so that no server is
// needed for describe, cancel and resume to work from anywhere.
//
//   - export_info_<id>.json, the record, is created with a conditional
//     create (of two processes starting one identifier exactly one wins)
//     and rewritten at every status change and heartbeat; a record not
//     rewritten for lease.StaleAfter heartbeat intervals belongs to a
//     process that stopped (Stale).
//   - cancel_request_<id>.json is the task's cancel slot: another process
//     asks a running task to stop by creating it, and the run that
//     completes claims it first (Completing), so a cancel and a completion
//     never both win.
//   - export_tables_info_* say which parts are finished: what a resume
//     keeps (FinishedParts).
//
// Ownership of the task's objects (leases, journals) is package lease's.
package records
