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
// this input and returns what its earlier run finished, by table target.
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
	// A cancel request that stopped the earlier run must not stop this one.
	if err := s.Delete(ctx, l.cancelRequestKey()); err != nil && !errors.Is(err, sink.ErrNotExist) {
		return ExportTask{}, nil, newError(ErrInvalidS3Bucket, err, "cannot delete the old cancel request of export task %s", l.id)
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
				parts[ts.Target] = ts.TableStatistics.Parts
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
// rows, bytes and files, so the totals are those of one clean run.
func (r *run) keepFinished(t *tableRun, prev []manifest.Part) {
	for i, q := range t.parts {
		for _, p := range prev {
			if !p.Complete || p.Batch != q.Batch || p.Index != q.Index {
				continue
			}
			t.partState[i] = partState{complete: true, rows: p.Rows, bytes: p.Bytes, files: p.Files}
			t.partsDone++
			t.rows += p.Rows
			t.files = append(t.files, p.Files...)
			t.bytes.Add(p.Bytes)
			r.rows.Add(p.Rows)
			r.bytes.Add(p.Bytes)
			r.kept++
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
			Complete: st.complete, Rows: st.rows, Bytes: st.bytes, Files: slices.Clone(st.files)}
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

// deleteLeftovers deletes what an earlier run published of part p.
func (r *run) deleteLeftovers(ctx context.Context, t *tableRun, p partition.Part) error {
	prefix := fmt.Sprintf("%s/%d/part-%05d-", r.layout.tableDir(t.table), p.Batch, p.Index)
	if p.RollBatches {
		// Its files went to batch folders p.Batch, p.Batch+1, …: the part is
		// the table's only one, so everything of the table is its.
		prefix = r.layout.tableDir(t.table) + "/"
	}
	var keys []string
	for obj, err := range r.sink.List(ctx, prefix) {
		if err != nil {
			return err
		}
		keys = append(keys, obj.Key)
	}
	for _, k := range keys {
		if err := r.sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			return fmt.Errorf("deleting %s left by the earlier run: %w", k, err)
		}
	}
	return nil
}

// sameSnapshot reports whether two snapshot identities name the same data:
// equal but for the keys that change with every snapshot even of unchanged
// data (PostgreSQL's exported snapshot name, connection counts).
func sameSnapshot(a, b map[string]string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	volatile := func(k string) bool {
		return strings.HasSuffix(k, "exported_snapshot") || strings.HasSuffix(k, "connections")
	}
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if !volatile(k) && a[k] != b[k] {
			return false
		}
	}
	return true
}
