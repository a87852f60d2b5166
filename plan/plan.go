package plan

import (
	"bytes"
	"context"
	"slices"

	"github.com/snapexport/snapexport/source"
)

// Part is one unit of work: one scan, whose rows go to the files
// <batch>/part-<index>-….
type Part struct {
	// Batch is the batch folder, from 1.
	Batch int
	// Index is the part's number within its batch folder, from 0: the
	// NNNNN of part-NNNNN-<uuid> (RDS's "partition index").
	Index int
	// TablePartition names the declarative partition scanned, "" for the table.
	TablePartition string
	// Range restricts the scan to a key range, nil for all rows.
	Range *source.KeyRange
	// Blocks restricts the scan to a page range, nil for all pages.
	Blocks *source.BlockRange
	// RollBatches makes every file the part rolls to go to the next batch
	// folder (2, 3, …) instead of the same folder: RDS's layout for tables
	// read by one worker.
	RollBatches bool
	// EstimatedRows is the planner's share of the table's estimate, for
	// scheduling the largest parts first.
	EstimatedRows int64
}

// Options tune planning. The zero value of each field is its default.
type Options struct {
	// TargetPartBytes is the estimated source size of one part; 0 means
	// 512 MiB. A table larger than that is split.
	TargetPartBytes int64
	// Workers is how many parts run at once; a table that is split gets
	// at least one part per worker so the pool stays busy. 0 means 1.
	Workers int
	// MinSplitBytes is the estimated size from which a table is split into
	// at least one part per worker; 0 means TargetPartBytes. Below it a
	// table is split only by size (TargetPartBytes).
	MinSplitBytes int64
	// MaxParts caps the parts of one table; 0 means 1000.
	MaxParts int
}

func (o Options) withDefaults() Options {
	if o.TargetPartBytes <= 0 {
		o.TargetPartBytes = 512 << 20
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MinSplitBytes <= 0 {
		o.MinSplitBytes = o.TargetPartBytes
	}
	if o.MaxParts <= 0 {
		o.MaxParts = 1000
	}
	return o
}

// Table returns the parts of t, in batch and index order. Every row of t is
// read by exactly one part. snap may implement source.KeySampler and
// source.BlockScanner; without them tables are not split by key or pages.
func Table(ctx context.Context, snap source.Snapshot, t source.Table, o Options) ([]Part, error) {
	o = o.withDefaults()
	if len(t.TablePartitions) > 0 {
		parts := make([]Part, len(t.TablePartitions))
		share := t.EstimatedRows / int64(len(t.TablePartitions))
		for i, p := range t.TablePartitions {
			parts[i] = Part{Batch: i + 1, Index: 0, TablePartition: p, EstimatedRows: share}
		}
		return parts, nil
	}
	n := partCount(t, o)
	if n > 1 && t.Key != nil {
		parts, err := planKeyRanges(ctx, snap, t, n)
		if err != nil || len(parts) > 1 {
			return parts, err
		}
	}
	if n > 1 && t.Pages > 1 {
		// No key, or a key whose values could not be split (statistics
		// missing, too few distinct values): page ranges still can.
		if bs, ok := snap.(source.BlockScanner); ok && bs.ScansBlocks() {
			return blockRanges(t, n), nil
		}
	}
	return []Part{{Batch: 1, Index: 0, EstimatedRows: t.EstimatedRows, RollBatches: true}}, nil
}

// planKeyRanges cuts t into n ranges of its key, or returns nil when the
// snapshot cannot sample that key or its values do not split.
func planKeyRanges(ctx context.Context, snap source.Snapshot, t source.Table, n int) ([]Part, error) {
	if t.Key.Integer {
		ks, ok := snap.(source.KeySampler)
		if !ok {
			return nil, nil
		}
		bounds, err := ks.KeyQuantiles(ctx, t, t.Key.Column, n)
		if err != nil {
			return nil, err
		}
		bounds = clean(bounds)
		return ranges(t, len(bounds), func(r *source.KeyRange, i int) { r.Upper = &bounds[i] }, func(r, prev *source.KeyRange) { r.Lower = prev.Upper }), nil
	}
	ks, ok := snap.(source.KeyBoundarySampler)
	if !ok {
		return nil, nil
	}
	bounds, err := ks.KeyBoundaries(ctx, t, t.Key.Column, n)
	if err != nil {
		return nil, err
	}
	// The driver orders the values by the column's collation, which only it
	// knows; drop repeats it should not have returned, and the empty value,
	// which no value sorts below.
	bounds = slices.CompactFunc(bounds, bytes.Equal)
	bounds = slices.DeleteFunc(bounds, func(b []byte) bool { return len(b) == 0 })
	return ranges(t, len(bounds), func(r *source.KeyRange, i int) { r.UpperBytes = bounds[i] }, func(r, prev *source.KeyRange) { r.LowerBytes = prev.UpperBytes }), nil
}

// partCount is how many parts t should be read in.
func partCount(t source.Table, o Options) int {
	size := t.EstimatedBytes
	n := max(1, int((size+o.TargetPartBytes-1)/o.TargetPartBytes))
	// A table of MinSplitBytes or more gets one part per worker at least,
	// so it keeps the pool busy. A smaller one is not split just to fill
	// the pool: measured on PostgreSQL, range scans cost more per row than
	// one sequential scan, and with the server on the same few cores such a
	// split made a 2M-row export a third slower (bench/pg).
	if size >= o.MinSplitBytes {
		n = max(n, o.Workers)
	}
	if t.EstimatedRows > 0 {
		n = int(min(int64(n), t.EstimatedRows)) // no part shorter than a row
	}
	return max(1, min(n, o.MaxParts))
}

// clean sorts the boundaries and drops repeats: a key whose values repeat
// (statistics of a non-unique column, a tiny table) can give equal
// quantiles, which would make empty ranges.
func clean(b []int64) []int64 {
	b = slices.Clone(b)
	slices.Sort(b)
	return slices.Compact(b)
}

// ranges cuts t at k boundaries into k+1 key ranges: (-inf, b0) with the
// NULL keys, [b0, b1), …, [bk-1, +inf). upper sets range i's upper bound to
// boundary i; lower sets a range's lower bound to the previous one's upper.
func ranges(t source.Table, k int, upper func(r *source.KeyRange, i int), lower func(r, prev *source.KeyRange)) []Part {
	parts := make([]Part, k+1)
	share := t.EstimatedRows / int64(k+1)
	for i := range parts {
		r := &source.KeyRange{Column: t.Key.Column, IncludeNull: i == 0}
		if i > 0 {
			lower(r, parts[i-1].Range)
		}
		if i < k {
			upper(r, i)
		}
		parts[i] = Part{Batch: 1, Index: i, EstimatedRows: share, Range: r}
	}
	return parts
}

// blockRanges cuts t's pages into n ranges; the last is open-ended.
func blockRanges(t source.Table, n int) []Part {
	n = int(min(int64(n), t.Pages))
	parts := make([]Part, n)
	share := t.EstimatedRows / int64(n)
	for i := 0; i < n; i++ {
		lo := uint32(t.Pages * int64(i) / int64(n))
		br := &source.BlockRange{Lower: lo}
		if i < n-1 {
			hi := uint32(t.Pages * int64(i+1) / int64(n))
			br.Upper = &hi
		}
		parts[i] = Part{Batch: 1, Index: i, Blocks: br, EstimatedRows: share}
	}
	return parts
}
