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
	return recordFromInfo(info, time.Now()), nil
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
		recs = append(recs, recordFromInfo(info, now))
	}
	return recs, warnings, nil
}

// requestCancel writes the cancel request a running task polls for.
func (d destination) requestCancel(ctx context.Context, id string) error {
	b, _ := json.Marshal(manifest.CancelRequest{ExportTaskIdentifier: id, RequestTime: time.Now().UTC()})
	return sink.WriteObject(ctx, d.sink, d.layout(id).cancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json"})
}

// cancelRequested reports whether a cancel request for the task exists.
func cancelRequested(ctx context.Context, s sink.Sink, l layout) bool {
	r, err := s.NewReader(ctx, l.cancelRequestKey())
	if err != nil {
		return false
	}
	r.Close()
	return true
}
