package snapexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/partition"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// A resumed task continues an unfinished run of the same identifier: the
// parts its tables info records as complete are kept, every other part is
// exported again after the objects an earlier run left of it are deleted,
// so the output is what one clean run produces. Tables keep the plan they
// had, so the kept parts and the new ones tile each table exactly.

// prepareResume checks that the task in the destination may be resumed by
// this input and returns what its earlier run finished, by tableKey.
func prepareResume(ctx context.Context, s sink.Sink, l layout, in StartExportTaskInput, identity string) (ExportTask, map[string][]manifest.Part, error) {
	d := destination{sink: s, prefix: l.prefix}
	prev, err := d.readRecord(ctx, l.id)
	if err != nil {
		return ExportTask{}, nil, err
	}
	switch prev.Status {
	case StatusFailed, StatusCanceled:
	case StatusComplete:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is COMPLETE; there is nothing to resume (start a new task with another identifier)", l.id)
	default:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is %s and its process is alive (recent heartbeat); cancel it first or wait for it", l.id, prev.Status)
	}
	if prev.SourceArn != identity {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another source: it exported %q, this request reads %q", l.id, prev.SourceArn, identity)
	}
	if !slices.Equal(prev.ExportOnly, nonEmpty(in.ExportOnly)) {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another ExportOnly: it exported %q, this request asks for %q", l.id, prev.ExportOnly, in.ExportOnly)
	}
	parts := map[string][]manifest.Part{}
	for obj, err := range s.List(ctx, l.root()+"/export_tables_info_"+l.id+"_from_") {
		if err != nil {
			return ExportTask{}, nil, newError(ErrInvalidS3Bucket, err, "cannot list the tables info of export task %s", l.id)
		}
		b, err := sink.ReadObject(ctx, s, obj.Key)
		if err != nil {
			return ExportTask{}, nil, newError(ErrInvalidS3Bucket, err, "cannot read %s", obj.Key)
		}
		var ti manifest.TablesInfo
		if err := json.Unmarshal(b, &ti); err != nil {
			return ExportTask{}, nil, newError(ErrInvalidParameterValue, err, "cannot resume export task %s: %s is not a tables info file", l.id, obj.Key)
		}
		for _, ts := range ti.PerTableStatus {
			if ts.TableStatistics != nil {
				key := ts.TableKey
				if key == "" { // a record written before tableKey
					key = ts.Target
				}
				parts[key] = ts.TableStatistics.Parts
			}
		}
	}
	return prev, parts, nil
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// resumedParts is the recorded plan of a table.
func resumedParts(prev []manifest.Part) []partition.Part {
	out := make([]partition.Part, len(prev))
	for i, p := range prev {
		out[i] = partition.Part{Batch: p.Batch, Index: p.Index, Partition: p.Partition, RollBatches: p.RollBatches}
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

// ref and deref carry a byte-string bound through the manifest: nil is
// unbounded, a non-nil empty slice the empty value.
func ref(b []byte) *[]byte {
	if b == nil {
		return nil
	}
	return &b
}

func deref(b *[]byte) []byte {
	if b == nil {
		return nil
	}
	if *b == nil {
		return []byte{}
	}
	return *b
}

// keepFinished marks the parts an earlier run finished as done, with their
// rows, bytes and files, so the totals are those of one clean run. The
// files of parts it did not finish are remembered for the sweep.
func (r *run) keepFinished(t *tableRun, prev []manifest.Part) {
	if r.keptFiles == nil {
		r.keptFiles = map[string]bool{}
	}
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

// partRecords is the plan and progress of a table, as the tables info keeps
// it for a resume.
func partRecords(t *tableRun) []manifest.Part {
	out := make([]manifest.Part, len(t.parts))
	for i, p := range t.parts {
		st := t.partState[i]
		out[i] = manifest.Part{Batch: p.Batch, Index: p.Index, Partition: p.Partition, RollBatches: p.RollBatches,
			Complete: st.complete, Rows: st.rows, Bytes: st.bytes, Files: slices.Clone(st.files), Generation: st.gen}
		if p.Blocks != nil {
			lo := p.Blocks.Lower
			out[i].BlockLower, out[i].BlockUpper = &lo, p.Blocks.Upper
		}
		if p.Range != nil {
			out[i].KeyColumn, out[i].Lower, out[i].Upper, out[i].IncludeNull = p.Range.Column, p.Range.Lower, p.Range.Upper, p.Range.IncludeNull
			out[i].LowerBytes, out[i].UpperBytes = ref(p.Range.LowerBytes), ref(p.Range.UpperBytes)
		}
	}
	return out
}

// sweepOlder deletes what older runs of the task wrote and this one does
// not keep: every key their journals name (written before each file was
// opened) and every file their records list for unfinished parts, except
// the files of the parts this run kept. It runs when a resumed task starts
// and again before its final record, since an older run that stalled may
// have published after the first sweep. Nothing a record of the task does
// not name is ever deleted.
func (r *run) sweepOlder(ctx context.Context) error {
	if r.resume == nil {
		return nil
	}
	keys, err := r.lease.olderKeys(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range slices.Concat(keys, r.oldFiles) {
		if r.keptFiles[k] {
			continue
		}
		if err := r.sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			errs = append(errs, fmt.Errorf("deleting %s left by an earlier run: %w", k, err))
		}
	}
	return errors.Join(errs...)
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
		for k := range m {
			if strings.HasSuffix(k, dataVersionSuffix) {
				return true
			}
		}
		return false
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
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if counts(k) && a[k] != b[k] {
			return false
		}
	}
	return true
}
