// Package records is the cross-process record protocol of export tasks:
// what a destination holds besides the data files, so that no server is
// needed for describe, cancel and resume to work from anywhere.
//
//   - export_info_<id>.json, the record, is created with a conditional
//     create (of two processes starting one identifier exactly one wins)
//     and rewritten at every status change and heartbeat; a record not
//     rewritten for lease.StaleAfter heartbeat intervals belongs to a
//     process that stopped (Stale).
//   - cancel_request_<id>.json is the task's cancel slot: another process
//     asks a running task to stop by creating it, and the run that
//     completes claims it first (Completing), so a cancel and a completion
//     never both win.
//   - export_tables_info_* say which parts are finished: what a resume
//     keeps (FinishedParts).
//
// Ownership of the task's objects (leases, journals) is package lease's.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
)

// Store is one task's records in a destination.
type Store struct {
	Sink   sink.Sink
	Layout layout.Layout
}

// Put writes the record; with ifNotExists it is the conditional create
// that claims a fresh identifier (sink.ErrExist when another process has).
func (s Store) Put(ctx context.Context, info manifest.ExportInfo, ifNotExists bool) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return sink.WriteObject(ctx, s.Sink, s.Layout.ExportInfoKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: ifNotExists})
}

// Read reads the record: fault.ExportTaskNotFound when there is none.
func (s Store) Read(ctx context.Context) (manifest.ExportInfo, error) {
	key := s.Layout.ExportInfoKey()
	b, err := sink.ReadObject(ctx, s.Sink, key)
	if errors.Is(err, sink.ErrNotExist) {
		return manifest.ExportInfo{}, fault.New(fault.ExportTaskNotFound, nil, "no export task with the ID %q in %s", s.Layout.ID, s.Sink.Location())
	}
	if err != nil {
		return manifest.ExportInfo{}, fault.New(fault.InvalidS3Bucket, err, "cannot read the record of export task %s from %s", s.Layout.ID, s.Sink.Location())
	}
	info, err := Decode(b, s.Layout.ID)
	if err != nil {
		return manifest.ExportInfo{}, fault.New(fault.InvalidParameterValue, err, "the record %s in %s is not an export task record", key, s.Sink.Location())
	}
	return info, nil
}

// Exists reports whether the identifier's record exists. A destination
// that cannot be read says no: the start-of-task checks report that with
// the right FailureCause.
func (s Store) Exists(ctx context.Context) bool {
	r, err := s.Sink.NewReader(ctx, s.Layout.ExportInfoKey())
	if err != nil {
		return false
	}
	r.Close()
	return true
}

// Decode reads a record and checks it is the task id's.
func Decode(b []byte, id string) (manifest.ExportInfo, error) {
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

// Stale reports whether a record that is not final belongs to a process
// that stopped: its heartbeat is older than lease.StaleAfter intervals.
// cause is the FailureCause readers report for it.
func Stale(info manifest.ExportInfo, final bool, now time.Time) (stale bool, cause string) {
	interval := time.Duration(info.HeartbeatIntervalSeconds * float64(time.Second))
	if interval <= 0 {
		interval = DefaultHeartbeatInterval
	}
	if final || now.Sub(info.HeartbeatTime) <= lease.StaleAfter*interval {
		return false, ""
	}
	return true, fmt.Sprintf("The process running the export stopped responding: its last heartbeat was at %s, more than %d heartbeat intervals (%s) ago. Start the task again with Resume (CLI --resume) to continue it.",
		info.HeartbeatTime.UTC().Format(time.RFC3339), lease.StaleAfter, interval)
}

// DefaultHeartbeatInterval is the heartbeat interval of a record that does
// not say its own.
const DefaultHeartbeatInterval = 5 * time.Second

// exportInfoKeyPattern matches "[prefix/]<id>/export_info_<id>.json".
var exportInfoKeyPattern = regexp.MustCompile(`(?:^|/)([A-Za-z][A-Za-z0-9-]*)/export_info_([A-Za-z][A-Za-z0-9-]*)\.json$`)

// List reads every task record under prefix (a task's S3Prefix).
// Records that cannot be read or are not ours are skipped with a warning,
// never a failure: a bucket may hold anything.
func List(ctx context.Context, s sink.Sink, prefix string) ([]manifest.ExportInfo, []string, error) {
	root := layout.PrefixRoot(prefix)
	var infos []manifest.ExportInfo
	var warnings []string
	for obj, err := range s.List(ctx, root) {
		if err != nil {
			return nil, nil, fault.New(fault.InvalidS3Bucket, err, "cannot list task records in %s", s.Location())
		}
		rest := strings.TrimPrefix(obj.Key, root)
		m := exportInfoKeyPattern.FindStringSubmatch(rest)
		if m == nil || m[1] != m[2] || strings.Count(rest, "/") != 1 {
			continue
		}
		b, err := sink.ReadObject(ctx, s, obj.Key)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipped %s: %v", obj.Key, err))
			continue
		}
		info, err := Decode(b, m[1])
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipped %s: not an export task record (%v)", obj.Key, err))
			continue
		}
		infos = append(infos, info)
	}
	return infos, warnings, nil
}
