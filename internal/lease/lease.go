// Package lease is a run's ownership of its export task (fencing): the
// generation it claimed, the fence it passes before every publish and
// every record write, and the write-ahead journal of the keys it may
// publish. The protocol is below; the root package's doc.go tells users
// what it guarantees.
package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/sink"
)

// Ownership of a task (fencing).
//
// Exactly one process writes a task's objects at a time. Each run of a task
// owns a generation g, claimed by creating <root>/lease_<id>_<g>.json with
// WriterOptions.IfNotExists, which dirsink, s3sink (If-None-Match) and
// memsink implement atomically: of two processes claiming g, one wins. A
// fresh task claims generation 1, a resumed one the highest generation in
// the destination plus one. The record (export_info) carries the
// generation and the owner's run ID, and every part in export_tables_info
// the generation that wrote it.
//
// A resume takes the task over only when the record is stale (no record
// write for the lease duration) and the highest lease was claimed longer
// than its duration ago: a run whose record writes fail but which renews
// its lease is alive and keeps the task. Every record write of a heartbeat
// is given up when the lease runs out, so none lands after another process
// could have claimed the next generation (clocks agreeing to well within a
// lease).
//
// Before every publish of a data file (the writer's Close) and every record
// write, the owner fences itself: it fails with ErrLost when lease g+1
// exists (another process took the task over), and when its own last
// successful record write started longer ago than the lease duration
// (StaleAfter heartbeat intervals, on the monotonic clock: what a reader
// needs to declare the task stale) it claims g+1 itself first, so that a
// process that took over can no longer claim it. A stalled process that
// wakes up thus either finds the newer lease and publishes nothing more, or
// holds the newer lease itself.
//
// Write-ahead intent: a data file's key goes into the generation's journal,
// <root>/journal_<id>_<g>.json, before the file is opened, so a later owner
// knows every key an older generation may have published. At takeover and
// again before writing its final record, the new owner deletes every key
// an older generation's journal names that is not a file of a part it
// kept; nothing else is ever deleted.
//
// The residual window: a process that passed its fence and then pauses
// before its upload ends (or a record write in flight that lands late) for
// longer than the rest of the new owner's run can still publish a file the
// final sweep did not see, or overwrite the record once. A reader that
// must be sure compares the record's generation with the highest lease.

// ErrLost is wrapped by the error of a run that lost its task to a
// newer generation.
var ErrLost = errors.New("snapexport: another process took over this export")

// leaseInfo is the content of a lease object.
type leaseInfo struct {
	ExportTaskIdentifier string    `json:"exportTaskIdentifier"`
	Generation           int       `json:"generation"`
	RunID                string    `json:"runId"`
	ClaimTime            time.Time `json:"claimTime"`
	// LeaseSeconds is how long after ClaimTime the owner may still write
	// without renewing: no other process claims the next generation
	// before then.
	LeaseSeconds float64 `json:"leaseSeconds"`
}

// journal is the content of a generation's journal object.
type journal struct {
	Generation int      `json:"generation"`
	RunID      string   `json:"runId"`
	Keys       []string `json:"keys"`
}

// Lease is a run's ownership of its task.
type Lease struct {
	sink     sink.Sink
	layout   layout.Layout
	runID    string
	duration time.Duration

	mu       sync.Mutex
	gen      int
	lastBeat time.Time // start of the last successful record write (monotonic)
	lost     error
	renewed  bool // fenceLocked claimed the next generation

	journalMu sync.Mutex
	keys      []string
}

func New(s sink.Sink, l layout.Layout, heartbeat time.Duration) *Lease {
	return &Lease{sink: s, layout: l, runID: uuid.NewString(), duration: StaleAfter * heartbeat}
}

// Highest is the highest generation claimed in the destination,
// 0 when none is.
func Highest(ctx context.Context, s sink.Sink, l layout.Layout) (int, error) {
	top := 0
	for obj, err := range s.List(ctx, l.LeasePrefix()) {
		if err != nil {
			return 0, err
		}
		if g, ok := layout.GenerationOf(obj.Key, l.LeasePrefix()); ok {
			top = max(top, g)
		}
	}
	return top, nil
}

// LiveUntil is when the lease of generation gen, claimed by another run,
// runs out: a run that renewed it recently is alive, and a resume must not
// take the task over before then. The zero time when there is no lease.
func LiveUntil(ctx context.Context, s sink.Sink, l layout.Layout, gen int) (time.Time, error) {
	b, err := sink.ReadObject(ctx, s, l.LeaseKey(gen))
	if errors.Is(err, sink.ErrNotExist) || gen == 0 {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var li leaseInfo
	if err := json.Unmarshal(b, &li); err != nil {
		return time.Time{}, nil // not ours to trust; the record's heartbeat decides
	}
	return li.ClaimTime.Add(time.Duration(li.LeaseSeconds * float64(time.Second))), nil
}

// Claim takes generation gen; sink.ErrExist when another process has it.
func (le *Lease) Claim(ctx context.Context, gen int) error {
	start := time.Now()
	if err := le.create(ctx, gen, start); err != nil {
		return err
	}
	le.mu.Lock()
	le.gen, le.lastBeat = gen, start
	le.mu.Unlock()
	return nil
}

// create writes the lease of generation gen, claimed at start, with a
// conditional create: sink.ErrExist when another process has it.
func (le *Lease) create(ctx context.Context, gen int, start time.Time) error {
	b, _ := json.Marshal(leaseInfo{ExportTaskIdentifier: le.layout.ID, Generation: gen, RunID: le.runID, ClaimTime: start.UTC(), LeaseSeconds: le.duration.Seconds()})
	return sink.WriteObject(ctx, le.sink, le.layout.LeaseKey(gen), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
}

// Generation is the generation this run owns.
func (le *Lease) Generation() int {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.gen
}

// Beat records that a record write that started at start succeeded.
func (le *Lease) Beat(start time.Time) {
	le.mu.Lock()
	if start.After(le.lastBeat) {
		le.lastBeat = start
	}
	le.mu.Unlock()
}

// Fence returns an error wrapping ErrLost when another process owns
// the task now; see the protocol above. It renews an expired lease by
// claiming the next generation.
func (le *Lease) Fence(ctx context.Context) error {
	le.mu.Lock()
	err := le.fenceLocked(ctx)
	renewed := le.renewed
	le.renewed = false
	le.mu.Unlock()
	if err == nil && renewed {
		// The new generation's journal names this run's keys too.
		err = le.writeJournal(ctx)
	}
	return err
}

func (le *Lease) fenceLocked(ctx context.Context) error {
	if le.lost != nil {
		return le.lost
	}
	next := le.gen + 1
	_, err := sink.ReadObject(ctx, le.sink, le.layout.LeaseKey(next))
	switch {
	case err == nil:
		le.lost = le.lostError(next)
		return le.lost
	case !errors.Is(err, sink.ErrNotExist):
		return fmt.Errorf("snapexport: checking the task's lease %s: %w", le.layout.LeaseKey(next), err)
	}
	if time.Since(le.lastBeat) < le.duration {
		return nil
	}
	// Long enough without a record write that a reader may have declared
	// the task stale: make sure nobody can take it over by taking the next
	// generation first.
	start := time.Now()
	err = le.create(ctx, next, start)
	switch {
	case errors.Is(err, sink.ErrExist):
		le.lost = le.lostError(next)
		return le.lost
	case err != nil:
		return fmt.Errorf("snapexport: renewing the task's lease %s: %w", le.layout.LeaseKey(next), err)
	}
	le.gen, le.lastBeat = next, start
	le.renewed = true
	return nil
}

// Expiry is when the lease runs out unless a record write renews it.
func (le *Lease) Expiry() time.Time {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.lastBeat.Add(le.duration)
}

func (le *Lease) lostError(next int) error {
	return fmt.Errorf("%w (generation %d, lease %s): this process (generation %d) stalled longer than the lease of %s or was declared stale, so it stops and publishes nothing more; follow the task with describe-export-tasks",
		ErrLost, next, le.layout.LeaseKey(next), next-1, le.duration)
}

// Intend records key in the generation's journal before the file is
// opened, so a later owner can remove it if this run does not finish it.
func (le *Lease) Intend(ctx context.Context, key string) error {
	le.journalMu.Lock()
	le.keys = append(le.keys, key)
	le.journalMu.Unlock()
	return le.writeJournal(ctx)
}

func (le *Lease) writeJournal(ctx context.Context) error {
	le.journalMu.Lock()
	defer le.journalMu.Unlock()
	gen := le.Generation()
	b, _ := json.Marshal(journal{Generation: gen, RunID: le.runID, Keys: le.keys})
	if err := sink.WriteObject(ctx, le.sink, le.layout.JournalKey(gen), b, &sink.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("snapexport: writing the task's journal %s: %w", le.layout.JournalKey(gen), err)
	}
	return nil
}

// OlderKeys returns every key the journals of other runs of older
// generations name, sorted and without duplicates.
func (le *Lease) OlderKeys(ctx context.Context) ([]string, error) {
	gen := le.Generation()
	var keys []string
	for obj, err := range le.sink.List(ctx, le.layout.JournalPrefix()) {
		if err != nil {
			return nil, err
		}
		g, ok := layout.GenerationOf(obj.Key, le.layout.JournalPrefix())
		if !ok || g >= gen {
			continue
		}
		b, err := sink.ReadObject(ctx, le.sink, obj.Key)
		if errors.Is(err, sink.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var j journal
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("snapexport: the journal %s is not a journal: %w", obj.Key, err)
		}
		if j.RunID == le.runID {
			continue // this run's own, from before it renewed its lease
		}
		keys = append(keys, j.Keys...)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// RunID is the random identity of this run, recorded in its lease, journal
// and record.
func (le *Lease) RunID() string { return le.runID }

// StaleAfter is how many heartbeat intervals may pass without a record
// write before a reader reports a running task's process as gone, and so
// how long a lease lasts.
const StaleAfter = 3
