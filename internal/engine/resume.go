package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
)

// A resumed task continues an unfinished run of the same identifier: the
// parts its tables info records as complete are kept, every other part is
// exported again after the objects an earlier run left of it are deleted
// (sweep.go), so the output is what one clean run produces. Tables keep
// the plan they had, so the kept parts and the new ones tile each table
// exactly.

// resumedParts is the recorded plan of a table.
func resumedParts(prev []manifest.Part) []plan.Part {
	out := make([]plan.Part, len(prev))
	for i, p := range prev {
		out[i] = plan.Part{Batch: p.Batch, Index: p.Index, TablePartition: p.Partition, RollBatches: p.RollBatches}
		if p.KeyColumn != "" {
			out[i].Range = &source.KeyRange{Column: p.KeyColumn, Lower: p.Lower, Upper: p.Upper,
				LowerBytes: deref(p.LowerBytes), UpperBytes: deref(p.UpperBytes), IncludeNull: p.IncludeNull}
		}
		if p.BlockLower != nil {
			out[i].Blocks = &source.BlockRange{Lower: *p.BlockLower, Upper: p.BlockUpper}
		}
	}
	return out
}

// keepFinished marks the parts an earlier run finished as done, with their
// rows, bytes and files, so the totals are those of one clean run. The
// files of parts it did not finish are remembered for the sweep.
func (r *Run) keepFinished(t *tableRun, prev []manifest.Part) {
	for _, p := range prev {
		if !p.Complete {
			r.oldFiles = append(r.oldFiles, p.Files...)
		}
	}
	for i, q := range t.parts {
		for _, p := range prev {
			if !p.Complete || p.Batch != q.Batch || p.Index != q.Index {
				continue
			}
			t.partState[i] = partState{complete: true, rows: p.Rows, bytes: p.Bytes, files: p.Files, gen: p.Generation}
			t.partsDone++
			t.rows += p.Rows
			t.files = append(t.files, p.Files...)
			t.bytes.Add(p.Bytes)
			r.rows.Add(p.Rows)
			r.bytes.Add(p.Bytes)
			r.kept++
			for _, f := range p.Files {
				r.keptFiles[f] = true
			}
		}
	}
}

// ReasonMixedSnapshots is the general warning of a resumed task whose data
// comes from two snapshots of a source that changed in between.
const ReasonMixedSnapshots = "MIXED_SNAPSHOTS"

// checkSnapshots compares a resumed task's snapshot with the earlier
// run's: unchanged when they hold the same data, and a MIXED_SNAPSHOTS
// warning when parts were kept from a snapshot of other data.
func (r *Run) checkSnapshots(info source.SnapshotInfo) (unchanged bool) {
	rs := r.job.Resume
	if rs == nil {
		return false
	}
	unchanged = sameSnapshot(rs.SnapshotIdentity, info.ID)
	if r.kept > 0 && !unchanged {
		at := "an unknown time"
		if rs.SnapshotTime != nil {
			at = rs.SnapshotTime.UTC().Format(time.RFC3339)
		}
		r.warnings.General = append(r.warnings.General, manifest.Entry{Reason: ReasonMixedSnapshots, Detail: fmt.Sprintf(
			"this resumed task kept %d parts read from the snapshot of %s and read the rest from the snapshot of %s, and the source changed in between (or its unchanged-ness cannot be shown): the tables are not from one point in time; start a new task for a consistent export",
			r.kept, at, info.Time.UTC().Format(time.RFC3339))})
	}
	return unchanged
}

// dataVersionSuffix ends the snapshot identity keys a source driver sets
// to a per-database data version ("<db>.data_version"): a value that
// changes whenever data of that database changes, and only then.
const dataVersionSuffix = ".data_version"

// sameSnapshot reports whether two snapshot identities name the same data.
// Where the source reports per-database data versions (keys ending in
// dataVersionSuffix: PostgreSQL's row-change counters of each exported
// database), those alone decide, so that writes to other databases of the
// server, which move the cluster-wide WAL position and transaction ids, do
// not count. Otherwise the identities must be equal but for the keys that
// change with every snapshot even of unchanged data (PostgreSQL's exported
// snapshot name, connection counts).
func sameSnapshot(a, b map[string]string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	versioned := func(m map[string]string) bool {
		return slices.ContainsFunc(slices.Collect(maps.Keys(m)), func(k string) bool { return strings.HasSuffix(k, dataVersionSuffix) })
	}
	if versioned(a) || versioned(b) {
		return equalOn(a, b, func(k string) bool { return strings.HasSuffix(k, dataVersionSuffix) })
	}
	return equalOn(a, b, func(k string) bool {
		return !strings.HasSuffix(k, "exported_snapshot") && !strings.HasSuffix(k, "connections")
	})
}

// equalOn reports whether a and b agree on every key that counts.
func equalOn(a, b map[string]string, counts func(string) bool) bool {
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if counts(k) && a[k] != b[k] {
				return false
			}
		}
	}
	return true
}
