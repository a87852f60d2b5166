package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"time"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/writer"
)

// RequestCancel writes the cancel request a running task polls for. It
// is a conditional create: a task that has begun writing its COMPLETE
// record holds the key already (manifest.CancelRequest.Completing), and the
// cancel is refused with fault.InvalidExportTaskState. final reports
// whether a record status is final.
func (s Store) RequestCancel(ctx context.Context, final func(status string) bool) error {
	id := s.Layout.ID
	b, _ := json.Marshal(manifest.CancelRequest{ExportTaskIdentifier: id, RequestTime: time.Now().UTC()})
	err := sink.WriteObject(ctx, s.Sink, s.Layout.CancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
	if err == nil {
		// The task may have completed (and freed the slot) since its
		// record was read: then the request is too late.
		if info, rerr := s.Read(ctx); rerr == nil && final(info.Status) {
			_ = s.Sink.Delete(ctx, s.Layout.CancelRequestKey())
			return fault.New(fault.InvalidExportTaskState, nil, "can't cancel export task %s: it is %s already", id, info.Status)
		}
		return nil
	}
	if !errors.Is(err, sink.ErrExist) {
		return fault.New(fault.InvalidS3Bucket, err, "cannot write the cancel request of export task %s to %s", id, s.Sink.Location())
	}
	req, err := s.CancelRequest(ctx)
	if err != nil {
		return fault.New(fault.InvalidS3Bucket, err, "cannot read the cancel request of export task %s in %s", id, s.Sink.Location())
	}
	if req.Completing {
		return fault.New(fault.InvalidExportTaskState, nil, "can't cancel export task %s: it finished exporting and is writing its final record", id)
	}
	return nil // asked already
}

// CancelRequest reads the task's cancel slot.
func (s Store) CancelRequest(ctx context.Context) (manifest.CancelRequest, error) {
	var req manifest.CancelRequest
	b, err := sink.ReadObject(ctx, s.Sink, s.Layout.CancelRequestKey())
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("snapexport: %s is not a cancel request: %w", s.Layout.CancelRequestKey(), err)
	}
	return req, nil
}

// CancelRequested reports whether another process asked for a cancel.
func (s Store) CancelRequested(ctx context.Context) bool {
	req, err := s.CancelRequest(ctx)
	return err == nil && !req.Completing
}

// ClaimCompletion takes the cancel slot for the completion with a
// conditional create of the cancel request's key; won is false when a
// cancel request written by another process got there first.
func (s Store) ClaimCompletion(ctx context.Context) (won bool, err error) {
	b, _ := json.Marshal(manifest.CancelRequest{ExportTaskIdentifier: s.Layout.ID, RequestTime: time.Now().UTC(), Completing: true})
	err = sink.WriteObject(ctx, s.Sink, s.Layout.CancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
	if errors.Is(err, sink.ErrExist) {
		req, rerr := s.CancelRequest(ctx)
		if rerr != nil {
			return false, rerr
		}
		return req.Completing, nil
	}
	return err == nil, err
}

// ClearCancelRequest removes the cancel request that stopped an earlier
// run, which must not stop the run that resumes it.
func (s Store) ClearCancelRequest(ctx context.Context) error {
	if err := s.Sink.Delete(ctx, s.Layout.CancelRequestKey()); err != nil && !errors.Is(err, sink.ErrNotExist) {
		return fault.New(fault.InvalidS3Bucket, err, "cannot delete the old cancel request of export task %s", s.Layout.ID)
	}
	return nil
}

// Tidy removes, after the COMPLETE record is written, the objects only an
// unfinished task needs: the journals (a COMPLETE task is never resumed,
// and its files are in the tables info) and the completion's cancel slot
// (a cancel requested from now on finds the COMPLETE record). The lease
// stays: it is the generation a late writer is fenced by.
func (s Store) Tidy(ctx context.Context) {
	keys := []string{s.Layout.CancelRequestKey()}
	for obj, err := range s.Sink.List(ctx, s.Layout.JournalPrefix()) {
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
	}
	for _, k := range keys {
		_ = s.Sink.Delete(ctx, k) // what stays is harmless and named by the task's prefix
	}
}

// Finished is what the tables info of an unfinished run says: every
// table's parts, by layout.TableKey, as a resume keeps them, and the type
// profile their files were written with.
type Finished struct {
	Parts       map[string][]manifest.Part
	TypeProfile string // "" when no table recorded one
}

// FinishedParts reads the tables info of the task.
func (s Store) FinishedParts(ctx context.Context) (Finished, error) {
	parts := map[string][]manifest.Part{}
	profile := ""
	for obj, err := range s.Sink.List(ctx, s.Layout.TablesInfoPrefix()) {
		if err != nil {
			return Finished{}, fault.New(fault.InvalidS3Bucket, err, "cannot list the tables info of export task %s", s.Layout.ID)
		}
		b, err := sink.ReadObject(ctx, s.Sink, obj.Key)
		if err != nil {
			return Finished{}, fault.New(fault.InvalidS3Bucket, err, "cannot read %s", obj.Key)
		}
		var ti manifest.TablesInfo
		if err := json.Unmarshal(b, &ti); err != nil {
			return Finished{}, fault.New(fault.InvalidParameterValue, err, "cannot resume export task %s: %s is not a tables info file", s.Layout.ID, obj.Key)
		}
		for _, ts := range ti.PerTableStatus {
			if ts.TableStatistics == nil {
				continue
			}
			key := ts.TableKey
			if key == "" { // a record written before TableKey
				key = ts.Target
			}
			parts[key] = ts.TableStatistics.Parts
			if ts.SchemaMetadata != nil && profile == "" {
				profile = ts.SchemaMetadata.TypeProfile
			}
		}
	}
	return Finished{Parts: parts, TypeProfile: profile}, nil
}

// partFileName matches a data file's name, part-NNNNN-<uuid><extension>.
var partFileName = regexp.MustCompile(`^part-\d+-[0-9a-f-]{36}(\..+)$`)

// SameFormat refuses a resume whose files would differ from the kept
// ones: another type profile (columns of other types in one table) or
// another codec (files of two extensions in one folder).
func (done Finished) SameFormat(id, profile string, codec writer.Codec) error {
	if done.TypeProfile != "" && done.TypeProfile != profile {
		return fault.New(fault.InvalidParameterValue, nil, "cannot resume export task %s with the type profile %q: its files were written with %q; resume with TaskOptions.TypeProfile (CLI --type-profile) %q, or start a new task",
			id, profile, done.TypeProfile, done.TypeProfile)
	}
	for _, parts := range done.Parts {
		for _, p := range parts {
			for _, f := range p.Files {
				if m := partFileName.FindStringSubmatch(path.Base(f)); m != nil && m[1] != codec.Extension() {
					return fault.New(fault.InvalidParameterValue, nil, "cannot resume export task %s with %s compression: its file %s was written with another codec; resume with the codec it started with, or start a new task", id, codec, f)
				}
			}
		}
	}
	return nil
}
