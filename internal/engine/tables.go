package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// tableRun is the state of one table within a run.
type tableRun struct {
	table    source.Table
	dir      string // the table's folder (layout.TableFolders)
	cols     []source.ScanColumn
	mappings []manifest.TypeMapping
	parts    []plan.Part

	bytes atomic.Int64 // Parquet bytes written for the table, live
	// guarded by Run.mu
	failed    error // the failure of one of its parts
	rows      int64
	partsDone int
	files     []string
	state     State
	partState []partState // per part, parallel to parts
}

// partState is what a part of the table has written.
type partState struct {
	complete    bool
	rows, bytes int64
	files       []string
	gen         int // the generation that wrote files
}

func (t *tableRun) partIndex(p plan.Part) int {
	return slices.IndexFunc(t.parts, func(q plan.Part) bool { return q.Batch == p.Batch && q.Index == p.Index })
}

func (r *Run) tableFailed(t *tableRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return t.failed != nil
}

// failTable marks a table FAILED with the error of its failed part.
func (r *Run) failTable(t *tableRun, err error) {
	r.mu.Lock()
	if t.failed == nil {
		t.failed = err
		t.state = StateFailed
	}
	r.mu.Unlock()
	r.tablesDirty.Store(true)
	r.publishTables(t, false)
}

// failedTables is the failure of a task whose tables failed, its cause
// naming every one of them; nil when none did.
func (r *Run) failedTables() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	var causes []string
	var first *Failure
	for _, t := range r.tables {
		if t.failed == nil {
			continue
		}
		errs = append(errs, t.failed)
		var f *Failure
		if !errors.As(t.failed, &f) {
			f = tableFailure(t.table.Target(), t.failed)
		}
		if first == nil {
			first = f
		}
		causes = append(causes, f.Cause)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return first
	}
	return tablesFailure(errs, causes)
}

func (r *Run) addRows(t *tableRun, n int64) {
	total := r.rows.Add(n)
	r.mu.Lock()
	t.rows += n
	r.mu.Unlock()
	percent := -1
	if r.estimate > 0 {
		percent = int(min(99, total*100/r.estimate))
	}
	r.rep.Progress(Progress{Table: t.table.Target(), Rows: total, Bytes: r.bytes.Load(), Percent: percent})
}

func (r *Run) addBytes(t *tableRun, n int64) {
	r.bytes.Add(n)
	t.bytes.Add(n)
}

// partDone records a finished part.
func (r *Run) partDone(t *tableRun, p plan.Part, st partState) {
	r.mu.Lock()
	if i := t.partIndex(p); i >= 0 {
		t.partState[i] = st
	}
	t.partsDone++
	t.files = append(t.files, st.files...)
	tableDone := t.partsDone >= len(t.parts)
	r.mu.Unlock()
	r.tablesDirty.Store(true)
	if tableDone {
		r.tableDone(t)
		return
	}
	r.publishTables(t, false)
}

// partCanceled records the files a cancelled part had published: they stay.
func (r *Run) partCanceled(t *tableRun, p plan.Part, st partState) {
	if len(st.files) == 0 {
		return
	}
	r.mu.Lock()
	if i := t.partIndex(p); i >= 0 {
		t.partState[i] = st
	}
	t.files = append(t.files, st.files...)
	r.mu.Unlock()
	r.tablesDirty.Store(true)
}

// tableDone marks a table COMPLETE and reports it.
func (r *Run) tableDone(t *tableRun) {
	r.mu.Lock()
	t.state = StateComplete
	r.mu.Unlock()
	r.publishTables(t, true)
	r.rep.TableCompleted(t.table.Target())
}

func (r *Run) publishTables(t *tableRun, tableDone bool) {
	r.rep.Progress(Progress{Table: t.table.Target(), Rows: r.rows.Load(), Bytes: r.bytes.Load(), Percent: -1,
		Tables: r.tableProgress(), TableDone: tableDone})
}

func (r *Run) tableProgress() []TableProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TableProgress, len(r.tables))
	for i, t := range r.tables {
		out[i] = TableProgress{Target: t.table.Target(), State: t.state, Rows: t.rows, Bytes: t.bytes.Load(), Files: len(t.files),
			Parts: len(t.parts), Done: t.partsDone}
	}
	return out
}

// Settle gives every table that did not finish the task's final state,
// makes every figure what the recorded files hold, and returns the
// summary the final record carries.
func (r *Run) Settle(final State) Summary {
	r.mu.Lock()
	var rows, bytes int64
	for _, t := range r.tables {
		switch {
		case t.failed != nil:
			t.state = StateFailed
		case t.state != StateComplete:
			t.state = final
		}
		t.rows, t.files = 0, nil
		var tb int64
		for _, st := range t.partState {
			t.rows += st.rows
			tb += st.bytes
			t.files = append(t.files, st.files...)
		}
		t.bytes.Store(tb)
		rows += t.rows
		bytes += tb
	}
	r.rows.Store(rows)
	r.bytes.Store(bytes)
	warnings := r.warnings.String()
	r.mu.Unlock()
	s := Summary{Tables: r.tableProgress(), Rows: rows, Bytes: bytes, Warnings: warnings}
	for _, t := range s.Tables {
		if t.State == StateComplete {
			s.TablesCompleted++
		}
	}
	return s
}

// WriteTablesInfoIfChanged writes the tables info when a part finished or
// a table failed since it was last written: what a resume keeps.
func (r *Run) WriteTablesInfoIfChanged(ctx context.Context) error {
	if !r.tablesDirty.Swap(false) {
		return nil
	}
	err := r.WriteTablesInfo(ctx)
	if err != nil {
		r.tablesDirty.Store(true)
	}
	return err
}

// WriteTablesInfo writes export_tables_info, fenced by the lease. The
// figures are those of the recorded parts' files, never of a part still
// being written.
func (r *Run) WriteTablesInfo(ctx context.Context) error {
	r.tablesMu.Lock()
	defer r.tablesMu.Unlock()
	if err := r.job.Lease.Fence(ctx); err != nil {
		return err
	}
	entries := r.tableStatuses()
	for _, s := range manifest.Slices(len(entries)) {
		from, to := s[0], s[1]
		b, err := json.MarshalIndent(manifest.TablesInfo{PerTableStatus: entries[from-1 : max(to, from-1)]}, "", "  ")
		if err != nil {
			return err
		}
		key := r.job.Layout.TablesInfoKey(from, to)
		if err := sink.WriteObject(ctx, r.job.Sink, key, b, &sink.WriterOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
	}
	return nil
}

// tableStatuses are the tables info's entries.
func (r *Run) tableStatuses() []manifest.TableStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries := make([]manifest.TableStatus, 0, len(r.tables))
	for _, t := range r.tables {
		parts := partRecords(t)
		var rows, bytes int64
		var files []string
		for _, p := range parts {
			rows += p.Rows
			bytes += p.Bytes
			files = append(files, p.Files...)
		}
		warn := ""
		if t.failed != nil {
			warn = r.redact(t.failed.Error()) // no secret reaches the destination
		}
		entries = append(entries, manifest.TableStatus{
			Target: t.table.Target(), TableKey: layout.TableKey(t.table), Status: string(t.state), SizeGB: float64(bytes) / (1 << 30), WarningMessage: warn,
			TableStatistics: &manifest.TableStatistics{
				PartitioningInfo: manifest.PartitioningInfo{NumberOfPartitions: len(t.parts), NumberOfCompletedPartitions: t.partsDone},
				ExportedRows:     rows, ExportedBytes: bytes, Files: files,
				Parts: parts,
			},
			SchemaMetadata: &manifest.SchemaMetadata{TypeProfile: typemap.ProfileName(r.job.Options.TypeMapper), OriginalTypeMappings: t.mappings},
		})
	}
	return entries
}

// partRecords is the plan and progress of a table, as the tables info keeps
// it for a resume.
func partRecords(t *tableRun) []manifest.Part {
	out := make([]manifest.Part, len(t.parts))
	for i, p := range t.parts {
		st := t.partState[i]
		out[i] = manifest.Part{Batch: p.Batch, Index: p.Index, Partition: p.TablePartition, RollBatches: p.RollBatches,
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
