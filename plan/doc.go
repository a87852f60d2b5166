// Package plan plans how a table is read: which scans (parts) the workers
// run, and which batch folder and part number each part's files get
// (reference §6.2: RDS calls both the part and its number a "partition";
// here a partition is only ever a table's declarative partition).
//
// # Plans
//
//   - A declaratively partitioned table gets one batch per table partition
//     (batch folders 1, 2, …), each read as one part, in parallel.
//   - A table with an integer key (primary key, or unique not-null integer
//     index) large enough to split is cut into key ranges, all in batch 1:
//     part-00000, part-00001, …. Boundaries come from the key's real
//     distribution ([source.KeySampler]: statistics or a sample), not from
//     equal slices of min..max, so a skewed key still gives parts of similar
//     size. The first range also reads the NULL keys; the first and last
//     are open-ended, so every row is read exactly once. A range that holds
//     no rows writes no file: gaps in the numbering are normal, as in RDS.
//   - A table with another key the engine can sample
//     ([source.KeyBoundarySampler]: MySQL and MariaDB string keys) is cut
//     into ranges of that key the same way, bounded by values the driver
//     sampled and compares in the column's collation.
//   - A table without such a key (or whose key would not split), on an
//     engine that scans page ranges ([source.BlockScanner], PostgreSQL's
//     ctid), is cut into page ranges.
//   - Anything else is one part; its files go to batch folders 1, 2, … as
//     they roll, as RDS does for tables it reads in one thread.
//
// The number of parts follows the table's estimated size and
// [Options.TargetPartBytes], and is at least enough to keep every worker
// busy on a large table.
package plan
