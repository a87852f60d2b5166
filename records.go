package snapexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
)

// DefaultHeartbeatInterval is how often a running task rewrites its record
// in the destination when TaskOptions.HeartbeatInterval is zero.
const DefaultHeartbeatInterval = 5 * time.Second

// staleAfter is how many heartbeat intervals may pass without a write
// before a reader reports a running task's process as gone.
const staleAfter = 3

// The destination is the shared record of a task: export_info_<id>.json is
// rewritten at every status change and every heartbeat, and another process
// asks a running task to stop by writing cancel_request_<id>.json beside it.
// No server is needed for describe and cancel to work from anywhere.

func (l layout) cancelRequestKey() string { return l.root() + "/cancel_request_" + l.id + ".json" }

// infoFromRecord is the record as export_info_<id>.json holds it.
func infoFromRecord(rec ExportTask, l layout, heartbeat time.Duration) manifest.ExportInfo {
	info := manifest.ExportInfo{
		ExportTaskIdentifier: rec.ExportTaskIdentifier, SourceArn: rec.SourceArn, ExportOnly: rec.ExportOnly,
		SnapshotTime: rec.SnapshotTime, TaskStartTime: rec.TaskStartTime, TaskEndTime: rec.TaskEndTime,
		S3Bucket: rec.S3Bucket, S3Prefix: rec.S3Prefix, ExportedFilesPath: l.root(),
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

func (d destination) layout(id string) layout { return layout{prefix: d.prefix, id: id} }

// readRecord reads one task's record; ErrExportTaskNotFound when there is
// none.
func (d destination) readRecord(ctx context.Context, id string) (ExportTask, error) {
	key := d.layout(id).exportInfoKey()
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
	prefix := strings.Trim(sanitize(d.prefix), "/")
	if prefix != "" {
		prefix += "/"
	}
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
	err := sink.WriteObject(ctx, d.sink, l.cancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
	if err == nil {
		// The task may have completed (and freed the slot) since its
		// record was read: then the request is too late.
		if rec, rerr := d.readRecord(ctx, id); rerr == nil && rec.Status.Final() {
			_ = d.sink.Delete(ctx, l.cancelRequestKey())
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
func readCancelRequest(ctx context.Context, s sink.Sink, l layout) (manifest.CancelRequest, error) {
	var req manifest.CancelRequest
	b, err := sink.ReadObject(ctx, s, l.cancelRequestKey())
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("snapexport: %s is not a cancel request: %w", l.cancelRequestKey(), err)
	}
	return req, nil
}

// cancelRequested reports whether another process asked for a cancel.
func cancelRequested(ctx context.Context, s sink.Sink, l layout) bool {
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
