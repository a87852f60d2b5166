// Package partition plans how a table is read: which scans (parts) the
// workers run and which batch folder and partition index each part's files
// get (reference §6.2).
//
// # Plans
//
//   - A table with a declarative partitioning gets one batch per partition
//     (batch folders 1, 2, …), each read as one part.
//   - Any other table is one part: batch 1, partition 0.
//
// Key-range splitting of large tables builds on [Part.Range]; the planner
// is the one place that decides it.
package partition

import "github.com/snapexport/snapexport/source"

// Part is one unit of work: one scan, whose rows go to the files
// <batch>/part-<index>-….
type Part struct {
	// Batch is the batch folder, from 1.
	Batch int
	// Index is the partition index within the batch, from 0.
	Index int
	// Partition names the declarative partition scanned, "" for the table.
	Partition string
	// Range restricts the scan to a key range, nil for all rows.
	Range *source.KeyRange
	// EstimatedRows is the planner's share of the table's estimate, for
	// scheduling the largest parts first and for progress.
	EstimatedRows int64
}

// Options tune planning. The zero value is valid.
type Options struct{}

// Plan returns the parts of t, in batch and index order. Every row of t is
// read by exactly one part.
func Plan(t source.Table, _ Options) []Part {
	if len(t.Partitions) > 0 {
		parts := make([]Part, len(t.Partitions))
		share := t.EstimatedRows / int64(len(t.Partitions))
		for i, p := range t.Partitions {
			parts[i] = Part{Batch: i + 1, Index: 0, Partition: p, EstimatedRows: share}
		}
		return parts
	}
	return []Part{{Batch: 1, Index: 0, EstimatedRows: t.EstimatedRows}}
}
