package riversched

import (
	"runtime/debug"
	"strconv"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/layout"
)

// PartKind is the River job kind of a part.
const PartKind = "snapexport_part"

// Consistency modes of a distributed export.
const (
	// ConsistencySnapshot: every worker joins the coordinator's snapshot
	// (the source must implement source.Joiner: PostgreSQL). The default.
	ConsistencySnapshot = "snapshot"
	// ConsistencyNone: each part reads its own snapshot, taken by the
	// worker when the part starts; tables read by several parts are not
	// one point in time. For sources that cannot join a snapshot
	// (MySQL, MariaDB) when the user asks for it.
	ConsistencyNone = "none"
)

// PartArgs are a part job's arguments: what a worker needs besides its own
// source and sink, and never a secret (no URL, password or key: the
// worker opens the source and the sink with credentials of its own).
type PartArgs struct {
	// TaskKey names the task in the queue (its destination and root).
	TaskKey string `json:"task_key"`
	// Version is the coordinator's snapexport version; a worker of
	// another version refuses the part.
	Version string `json:"version"`
	// Fingerprint is the coordinator's source.Fingerprinter value; a
	// worker whose source differs refuses the part. Empty when the source
	// has none.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Consistency is ConsistencySnapshot or ConsistencyNone.
	Consistency string `json:"consistency"`
	// Seq is the part's place in the plan, for people reading the queue.
	Seq  int             `json:"seq"`
	Spec engine.PartSpec `json:"spec"`
}

// Kind implements river.JobArgs.
func (PartArgs) Kind() string { return PartKind }

// partOutput is what a worker records as the job's output (River stores it
// in the same UPDATE that completes the job: a completed job always has
// its result, and a result is never recorded for a job that did not
// complete).
type partOutput struct {
	Attempt int               `json:"attempt"`
	Worker  string            `json:"worker"`
	Result  engine.PartResult `json:"result"`
}

// partName identifies a part across the generations of its task: a
// resumed task keeps its tables' plans, so the same folder, batch and
// index name the same rows.
func partName(s engine.PartSpec) string {
	return s.Dir + "#" + strconv.Itoa(s.Part.Batch) + "#" + strconv.Itoa(s.Part.Index)
}

// modulePath is snapexport's module.
const modulePath = "github.com/snapexport/snapexport"

// Version is this binary's snapexport version: the module version it was
// built from ("(devel)" inside the repository), with the VCS revision when
// the build recorded one. Coordinator and workers compare it.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			v = d.Version
		}
	}
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += "+" + s.Value
		}
	}
	return v
}

// specLayout is the key layout of a part's task (the lease and journal
// keys the fence reads, the task's root).
func specLayout(s engine.PartSpec) layout.Layout {
	return layout.Layout{Prefix: s.Prefix, ID: s.TaskID, Codec: s.Writer.Codec}
}
