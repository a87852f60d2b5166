package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
)

// SweepOlder deletes what older runs of the task wrote and this one does
// not keep: every key their journals name (written before each file was
// opened) and every file their records list for unfinished parts, except
// the files of the parts this run kept. It runs when a resumed task starts
// and again before its final record, since an older run that stalled may
// have published after the first sweep. Nothing a record of the task does
// not name is ever deleted.
func (r *Run) SweepOlder(ctx context.Context) error {
	if r.job.Resume == nil {
		return nil
	}
	keys, err := r.job.Lease.OlderKeys(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range slices.Concat(keys, r.oldFiles) {
		if r.keptFiles[k] {
			continue
		}
		if err := r.job.Sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			errs = append(errs, fmt.Errorf("deleting %s left by an earlier run: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// SweepAbandoned removes the writes under the task's prefix that began and
// were neither finished nor cleaned up (incomplete multipart uploads,
// temporary files of a killed process), where the sink can see them
// (sink.Sweeper), and names in the warnings what it could not remove. It
// runs when a resumed task has taken the task over, before it writes, and
// when a run ends, after its own writers are done: the prefix is the
// task's own.
func (r *Run) SweepAbandoned(ctx context.Context) {
	sw, ok := r.job.Sink.(sink.Sweeper)
	if !ok {
		return
	}
	prefix := r.job.Layout.Root() + "/"
	var failed []manifest.Entry
	for a, err := range sw.Abandoned(ctx, prefix) {
		if err != nil {
			failed = append(failed, manifest.Entry{Target: prefix, Reason: ReasonCleanupFailed,
				Detail: "the abandoned writes under the task's prefix could not be listed: " + err.Error()})
			break
		}
		if err := sw.Sweep(ctx, a); err != nil {
			failed = append(failed, manifest.Entry{Target: a.Key, Reason: ReasonCleanupFailed,
				Detail: fmt.Sprintf("an abandoned write could not be removed (ID %s): %v; remove it by hand", a.ID, err)})
		}
	}
	r.warn(failed...)
}

// warn adds general warnings.
func (r *Run) warn(entries ...manifest.Entry) {
	if len(entries) == 0 {
		return
	}
	r.mu.Lock()
	r.warnings.General = append(r.warnings.General, entries...)
	r.mu.Unlock()
}
