package snapexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
)

// The destination is the shared record of a task: export_info_<id>.json is
// rewritten at every status change and every heartbeat, and another process
// asks a running task to stop by writing cancel_request_<id>.json beside it.
// No server is needed for describe and cancel to work from anywhere.

// infoFromRecord is the record as export_info_<id>.json holds it.
func infoFromRecord(rec ExportTask, l layout.Layout, heartbeat time.Duration) manifest.ExportInfo {
	info := manifest.ExportInfo{
		ExportTaskIdentifier: rec.ExportTaskIdentifier, SourceArn: rec.SourceArn, ExportOnly: rec.ExportOnly,
		SnapshotTime: rec.SnapshotTime, TaskStartTime: rec.TaskStartTime, TaskEndTime: rec.TaskEndTime,
		S3Bucket: rec.S3Bucket, S3Prefix: rec.S3Prefix, ExportedFilesPath: l.Root(),
		IamRoleArn: rec.IamRoleArn, KmsKeyId: rec.KmsKeyId, Status: string(rec.Status), PercentProgress: rec.PercentProgress,
		TotalExportedDataInGB: float64(rec.TotalExtractedDataInBytes) / (1 << 30), FailureCause: rec.FailureCause,
		WarningMessage: rec.WarningMessage, SourceType: rec.SourceType, Engine: rec.Engine, SnapshotIdentity: rec.SnapshotIdentity,
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
		ExportedRows: info.ExportedRows, Engine: info.Engine, SnapshotIdentity: info.SnapshotIdentity,
		TablesTotal: info.TablesTotal, TablesCompleted: info.TablesCompleted, ResumedFrom: resumedFromManifest(info.ResumedFrom),
	}
	if len(rec.ExportOnly) == 0 {
		rec.ExportOnly = nil
	}
	interval := time.Duration(info.HeartbeatIntervalSeconds * float64(time.Second))
	if interval <= 0 {
		interval = DefaultHeartbeatInterval
	}
	if !rec.Status.Final() && now.Sub(info.HeartbeatTime) > staleAfter*interval {
		rec.Status = StatusFailed
		rec.FailureCause = fmt.Sprintf("The process running the export stopped responding: its last heartbeat was at %s, more than %d heartbeat intervals (%s) ago. Start the task again with Resume (CLI --resume) to continue it.",
			info.HeartbeatTime.UTC().Format(time.RFC3339), staleAfter, interval)
	}
	return rec
}

// exportInfoKeyPattern matches "[prefix/]<id>/export_info_<id>.json".
var exportInfoKeyPattern = regexp.MustCompile(`(?:^|/)([A-Za-z][A-Za-z0-9-]*)/export_info_([A-Za-z][A-Za-z0-9-]*)\.json$`)

// destination is where an Exporter looks for records of tasks that other
// processes run.
type destination struct {
	sink   sink.Sink
	prefix string
}

func (d destination) layout(id string) layout.Layout { return layout.Layout{Prefix: d.prefix, ID: id} }

// readRecord reads one task's record; ErrExportTaskNotFound when there is
// none.
func (d destination) readRecord(ctx context.Context, id string) (ExportTask, error) {
	key := d.layout(id).ExportInfoKey()
	b, err := sink.ReadObject(ctx, d.sink, key)
	if errors.Is(err, sink.ErrNotExist) {
		return ExportTask{}, newError(ErrExportTaskNotFound, nil, "no export task with the ID %q in %s", id, d.sink.Location())
	}
	if err != nil {
		return ExportTask{}, newError(ErrInvalidS3Bucket, err, "cannot read the record of export task %s from %s", id, d.sink.Location())
	}
	info, err := decodeInfo(b, id)
	if err != nil {
		return ExportTask{}, newError(ErrInvalidParameterValue, err, "the record %s in %s is not an export task record", key, d.sink.Location())
	}
	return d.withCancelRequest(ctx, recordFromInfo(info, time.Now())), nil
}

func decodeInfo(b []byte, id string) (manifest.ExportInfo, error) {
	var info manifest.ExportInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return info, err
	}
	if info.ExportTaskIdentifier != id {
		return info, fmt.Errorf("it names task %q", info.ExportTaskIdentifier)
	}
	if info.Status == "" || info.TaskStartTime == nil {
		return info, errors.New("it has no status or start time")
	}
	return info, nil
}

// listRecords reads every task record under the destination's prefix.
// Records that cannot be read or are not ours are skipped with a warning,
// never a failure: a bucket may hold anything.
func (d destination) listRecords(ctx context.Context) ([]ExportTask, []string, error) {
	prefix := layout.PrefixRoot(d.prefix)
	var recs []ExportTask
	var warnings []string
	now := time.Now()
	for obj, err := range d.sink.List(ctx, prefix) {
		if err != nil {
			return nil, nil, newError(ErrInvalidS3Bucket, err, "cannot list task records in %s", d.sink.Location())
		}
		rest := strings.TrimPrefix(obj.Key, prefix)
		m := exportInfoKeyPattern.FindStringSubmatch(rest)
		if m == nil || m[1] != m[2] || strings.Count(rest, "/") != 1 {
			continue
		}
		b, err := sink.ReadObject(ctx, d.sink, obj.Key)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipped %s: %v", obj.Key, err))
			continue
		}
		info, err := decodeInfo(b, m[1])
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipped %s: not an export task record (%v)", obj.Key, err))
			continue
		}
		recs = append(recs, d.withCancelRequest(ctx, recordFromInfo(info, now)))
	}
	return recs, warnings, nil
}

// requestCancel writes the cancel request a running task polls for. It
// is a conditional create: a task that has begun writing its COMPLETE
// record holds the key already (manifest.CancelRequest.Completing), and the
// cancel is refused with ErrInvalidExportTaskState.
func (d destination) requestCancel(ctx context.Context, id string) error {
	l := d.layout(id)
	b, _ := json.Marshal(manifest.CancelRequest{ExportTaskIdentifier: id, RequestTime: time.Now().UTC()})
	err := sink.WriteObject(ctx, d.sink, l.CancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
	if err == nil {
		// The task may have completed (and freed the slot) since its
		// record was read: then the request is too late.
		if rec, rerr := d.readRecord(ctx, id); rerr == nil && rec.Status.Final() {
			_ = d.sink.Delete(ctx, l.CancelRequestKey())
			return newError(ErrInvalidExportTaskState, nil, "can't cancel export task %s: it is %s already", id, rec.Status)
		}
		return nil
	}
	if !errors.Is(err, sink.ErrExist) {
		return err
	}
	req, err := readCancelRequest(ctx, d.sink, l)
	if err != nil {
		return err
	}
	if req.Completing {
		return newError(ErrInvalidExportTaskState, nil, "can't cancel export task %s: it finished exporting and is writing its final record", id)
	}
	return nil // asked already
}

// readCancelRequest reads the task's cancel slot.
func readCancelRequest(ctx context.Context, s sink.Sink, l layout.Layout) (manifest.CancelRequest, error) {
	var req manifest.CancelRequest
	b, err := sink.ReadObject(ctx, s, l.CancelRequestKey())
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("snapexport: %s is not a cancel request: %w", l.CancelRequestKey(), err)
	}
	return req, nil
}

// cancelRequested reports whether another process asked for a cancel.
func cancelRequested(ctx context.Context, s sink.Sink, l layout.Layout) bool {
	req, err := readCancelRequest(ctx, s, l)
	return err == nil && !req.Completing
}

// withCancelRequest shows a running task whose cancel was requested as
// CANCELING, as the process running it will soon say too: describe reads
// the cancel request with the record.
func (d destination) withCancelRequest(ctx context.Context, rec ExportTask) ExportTask {
	if (rec.Status == StatusStarting || rec.Status == StatusInProgress) && cancelRequested(ctx, d.sink, d.layout(rec.ExportTaskIdentifier)) {
		rec.Status = StatusCanceling
	}
	return rec
}

// checkNoRecord refuses an identifier whose record already exists in the
// destination, so a second task never mixes its files with the first's.
func checkNoRecord(ctx context.Context, s sink.Sink, l layout.Layout) error {
	r, err := s.NewReader(ctx, l.ExportInfoKey())
	if err == nil {
		r.Close()
		return newError(ErrExportTaskAlreadyExists, nil,
			"the export task with the ID %s already exists: %s holds %s; choose another identifier or prefix", l.ID, s.Location(), l.ExportInfoKey())
	}
	if errors.Is(err, sink.ErrNotExist) {
		return nil
	}
	// The destination could not be read; the start-of-task checks report
	// that with the right FailureCause.
	return nil
}

// prepareResume checks that the task in the destination may be resumed by
// this input and returns what its earlier run finished, by tableKey.
func prepareResume(ctx context.Context, s sink.Sink, l layout.Layout, in StartExportTaskInput, identity string) (ExportTask, map[string][]manifest.Part, error) {
	d := destination{sink: s, prefix: l.Prefix}
	prev, err := d.readRecord(ctx, l.ID)
	if err != nil {
		return ExportTask{}, nil, err
	}
	switch prev.Status {
	case StatusFailed, StatusCanceled:
	case StatusComplete:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is COMPLETE; there is nothing to resume (start a new task with another identifier)", l.ID)
	default:
		return ExportTask{}, nil, newError(ErrInvalidExportTaskState, nil, "export task %s is %s and its process is alive (recent heartbeat); cancel it first or wait for it", l.ID, prev.Status)
	}
	if prev.SourceArn != identity {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another source: it exported %q, this request reads %q", l.ID, prev.SourceArn, identity)
	}
	if !slices.Equal(prev.ExportOnly, nonEmpty(in.ExportOnly)) {
		return ExportTask{}, nil, newError(ErrInvalidParameterValue, nil, "cannot resume export task %s with another ExportOnly: it exported %q, this request asks for %q", l.ID, prev.ExportOnly, in.ExportOnly)
	}
	parts := map[string][]manifest.Part{}
	for obj, err := range s.List(ctx, l.TablesInfoPrefix()) {
		if err != nil {
			return ExportTask{}, nil, newError(ErrInvalidS3Bucket, err, "cannot list the tables info of export task %s", l.ID)
		}
		b, err := sink.ReadObject(ctx, s, obj.Key)
		if err != nil {
			return ExportTask{}, nil, newError(ErrInvalidS3Bucket, err, "cannot read %s", obj.Key)
		}
		var ti manifest.TablesInfo
		if err := json.Unmarshal(b, &ti); err != nil {
			return ExportTask{}, nil, newError(ErrInvalidParameterValue, err, "cannot resume export task %s: %s is not a tables info file", l.ID, obj.Key)
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
