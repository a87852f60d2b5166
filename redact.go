package snapexport

import (
	"errors"
	"slices"

	"github.com/snapexport/snapexport/internal/redact"
	"github.com/snapexport/snapexport/source"
)

// Every text that leaves the library (the errors of StartExportTask and
// Wait, a record's FailureCause and WarningMessage, events, the records in
// the destination) passes through one redactor that knows the task's
// secrets (internal/redact).

// redactor is a task's redactor; the nil *redactor hides nothing.
type redactor struct {
	r *redact.Redactor
}

func newRedactor(inputs ...string) *redactor { return &redactor{r: redact.New(inputs...)} }

// String returns s with every secret replaced.
func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.r.String(s)
}

// Error returns err with its text redacted. An *Error stays an *Error with
// its Fault, so errors.Is and errors.As work as before; the cause below it
// is reachable with errors.As too, but its own text is the driver's.
func (r *redactor) Error(err error) error {
	if err == nil || r == nil || !r.r.Leaks(err.Error()) {
		return err
	}
	var e *Error
	if errors.As(err, &e) && e == err {
		c := *e
		c.Message = r.String(e.Message)
		c.Err = source.RedactError(c.Err, r.r.Secrets()...)
		return &c
	}
	return r.r.Error(err)
}

// Record returns rec with the secrets hidden in every text field.
func (r *redactor) Record(rec ExportTask) ExportTask {
	if r == nil || len(r.r.Secrets()) == 0 {
		return rec
	}
	rec.SourceArn = r.String(rec.SourceArn)
	rec.S3Bucket = r.String(rec.S3Bucket)
	rec.FailureCause = r.String(rec.FailureCause)
	rec.WarningMessage = r.String(rec.WarningMessage)
	if len(rec.ExportOnly) > 0 {
		rec.ExportOnly = slices.Clone(rec.ExportOnly)
		for i := range rec.ExportOnly {
			rec.ExportOnly[i] = r.String(rec.ExportOnly[i])
		}
	}
	if len(rec.Tables) > 0 {
		rec.Tables = slices.Clone(rec.Tables)
		for i := range rec.Tables {
			rec.Tables[i].Target = r.String(rec.Tables[i].Target)
		}
	}
	if rec.ResumedFrom != nil {
		rf := *rec.ResumedFrom
		rf.FailureCause = r.String(rf.FailureCause)
		rec.ResumedFrom = &rf
	}
	return rec
}

// Event returns ev with its message, table and record redacted.
func (r *redactor) Event(ev Event) Event {
	if r == nil {
		return ev
	}
	ev.Message = r.String(ev.Message)
	ev.Table = r.String(ev.Table)
	ev.Task = r.Record(ev.Task)
	return ev
}

// Progress returns p with its table name redacted.
func (r *redactor) Progress(p Progress) Progress {
	if r != nil && p.Table != "" {
		p.Table = r.String(p.Table)
	}
	return p
}
