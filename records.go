package snapexport

import (
	"context"
	"slices"
	"time"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/internal/records"
	"github.com/snapexport/snapexport/sink"
)

// A task's record crosses processes as export_info_<id>.json
// (internal/records has the protocol); these convert it from and to the
// public ExportTask, and read other processes' records for describe,
// cancel and resume.

// infoFromRecord is the record as export_info_<id>.json holds it.
func infoFromRecord(rec ExportTask, l layout.Layout, heartbeat time.Duration) manifest.ExportInfo {
	info := manifest.ExportInfo{
		ExportTaskIdentifier: rec.ExportTaskIdentifier, SourceArn: rec.SourceArn, ExportOnly: rec.ExportOnly,
		SnapshotTime: rec.SnapshotTime, TaskStartTime: rec.TaskStartTime, TaskEndTime: rec.TaskEndTime,
		S3Bucket: rec.S3Bucket, S3Prefix: rec.S3Prefix, ExportedFilesPath: l.Root(),
		IamRoleArn: rec.IamRoleArn, KmsKeyId: rec.KmsKeyId, Status: string(rec.Status), PercentProgress: rec.PercentProgress,
		TotalExportedDataInGB: float64(rec.TotalExtractedDataInBytes) / (1 << 30), FailureCause: rec.FailureCause,
		WarningMessage: rec.WarningMessage, SourceType: rec.SourceType, Engine: rec.Engine, SnapshotIdentity: rec.SnapshotIdentity, Consistency: rec.Consistency,
		ExportedBytes: rec.TotalExtractedDataInBytes, ExportedRows: rec.ExportedRows,
		TablesTotal: rec.TablesTotal, TablesCompleted: rec.TablesCompleted,
		HeartbeatTime: time.Now().UTC(), HeartbeatIntervalSeconds: heartbeat.Seconds(),
		ResumedFrom: rec.ResumedFrom.toManifest(), Generator: manifest.GeneratorName,
	}
	if info.ExportOnly == nil {
		info.ExportOnly = []string{}
	}
	return info
}

// recordFromInfo reads a record back. A task that is not final and whose
// heartbeat is older than staleAfter intervals is reported FAILED: the
// process running it stopped (killed, crashed, lost its network).
func recordFromInfo(info manifest.ExportInfo, now time.Time) ExportTask {
	rec := ExportTask{
		ExportTaskIdentifier: info.ExportTaskIdentifier, SourceArn: info.SourceArn, ExportOnly: info.ExportOnly,
		SnapshotTime: info.SnapshotTime, TaskStartTime: info.TaskStartTime, TaskEndTime: info.TaskEndTime,
		S3Bucket: info.S3Bucket, S3Prefix: info.S3Prefix, IamRoleArn: info.IamRoleArn, KmsKeyId: info.KmsKeyId,
		Status: Status(info.Status), PercentProgress: info.PercentProgress,
		TotalExtractedDataInGB: int(info.ExportedBytes >> 30), FailureCause: info.FailureCause,
		WarningMessage: info.WarningMessage, SourceType: info.SourceType, TotalExtractedDataInBytes: info.ExportedBytes,
		ExportedRows: info.ExportedRows, Engine: info.Engine, SnapshotIdentity: info.SnapshotIdentity, Consistency: info.Consistency,
		TablesTotal: info.TablesTotal, TablesCompleted: info.TablesCompleted, ResumedFrom: resumedFromManifest(info.ResumedFrom),
	}
	if len(rec.ExportOnly) == 0 {
		rec.ExportOnly = nil
	}
	if stale, cause := records.Stale(info, rec.Status.Final(), now); stale {
		rec.Status, rec.FailureCause = StatusFailed, cause
	}
	return rec
}

// destination is where an Exporter looks for records of tasks that other
// processes run.
type destination struct {
	sink   sink.Sink
	prefix string
}

func (d destination) store(id string) records.Store {
	return records.Store{Sink: d.sink, Layout: layout.Layout{Prefix: d.prefix, ID: id}}
}

// readRecord reads one task's record; ErrExportTaskNotFound when there is
// none.
func (d destination) readRecord(ctx context.Context, id string) (ExportTask, error) {
	info, err := d.store(id).Read(ctx)
	if err != nil {
		return ExportTask{}, publicError(err)
	}
	return d.withCancelRequest(ctx, recordFromInfo(info, time.Now())), nil
}

// listRecords reads every task record under the destination's prefix.
func (d destination) listRecords(ctx context.Context) ([]ExportTask, []string, error) {
	infos, warnings, err := records.List(ctx, d.sink, d.prefix)
	if err != nil {
		return nil, nil, publicError(err)
	}
	now := time.Now()
	recs := make([]ExportTask, len(infos))
	for i, info := range infos {
		recs[i] = d.withCancelRequest(ctx, recordFromInfo(info, now))
	}
	return recs, warnings, nil
}

// requestCancel asks the task another process runs to stop.
func (d destination) requestCancel(ctx context.Context, id string) error {
	return publicError(d.store(id).RequestCancel(ctx, func(s string) bool { return Status(s).Final() }))
}

// withCancelRequest shows a running task whose cancel was requested as
// CANCELING, as the process running it will soon say too: describe reads
// the cancel request with the record.
func (d destination) withCancelRequest(ctx context.Context, rec ExportTask) ExportTask {
	if (rec.Status == StatusStarting || rec.Status == StatusInProgress) && d.store(rec.ExportTaskIdentifier).CancelRequested(ctx) {
		rec.Status = StatusCanceling
	}
	return rec
}

// checkNoRecord refuses an identifier whose record already exists in the
// destination, so a second task never mixes its files with the first's.
func checkNoRecord(ctx context.Context, s records.Store) error {
	if s.Exists(ctx) {
		return newError(ErrExportTaskAlreadyExists, nil,
			"the export task with the ID %s already exists: %s holds %s; choose another identifier or prefix", s.Layout.ID, s.Sink.Location(), s.Layout.ExportInfoKey())
	}
	return nil
}

// prepareResume checks that the task in the destination may be resumed by
// this input and returns what its earlier run finished, by table key.
func prepareResume(ctx context.Context, s records.Store, in StartExportTaskInput, identity, profile string) (ExportTask, map[string][]manifest.Part, error) {
	id := s.Layout.ID
	prev, err := destination{sink: s.Sink, prefix: s.Layout.Prefix}.readRecord(ctx, id)
	if err != nil {
		return ExportTask{}, nil, err
	}
	switch prev.Status {
	case StatusFailed, StatusCanceled:
	case StatusComplete:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is COMPLETE; there is nothing to resume (start a new task with another identifier)", id)
	default:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is %s and its process is alive (recent heartbeat); cancel it first or wait for it", id, prev.Status)
	}
	if prev.SourceArn != identity {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another source: it exported %q, this request reads %q", id, prev.SourceArn, identity)
	}
	if !(len(in.ExportOnly) == 0 && len(prev.ExportOnly) == 0 || slices.Equal(prev.ExportOnly, in.ExportOnly)) {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another ExportOnly: it exported %q, this request asks for %q", id, prev.ExportOnly, in.ExportOnly)
	}
	done, err := s.FinishedParts(ctx)
	if err != nil {
		return ExportTask{}, nil, publicError(err)
	}
	if err := done.SameFormat(id, profile, s.Layout.Codec); err != nil {
		return ExportTask{}, nil, publicError(err)
	}
	return prev, done.Parts, nil
}
