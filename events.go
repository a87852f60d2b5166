package snapexport

import (
	"fmt"
	"time"

	"github.com/snapexport/snapexport/internal/notify"
)

// EventType says what happened to a task.
type EventType string

// Event types. RDS documents events only for the end of a task; snapexport
// also reports the start, every status change and every finished table.
const (
	EventStarted        EventType = "started"
	EventStatusChanged  EventType = "status-changed"
	EventTableCompleted EventType = "table-completed"
	EventCompleted      EventType = "completed"
	EventFailed         EventType = "failed"
	EventCanceled       EventType = "canceled"
)

// RDS event identifiers of snapshot export tasks (reference §9).
const (
	RDSEventExportFailed    = "RDS-EVENT-0159"
	RDSEventExportCanceled  = "RDS-EVENT-0160"
	RDSEventExportCompleted = "RDS-EVENT-0161"
)

// Event is one notification about a task.
type Event struct {
	Type EventType `json:"Type"`
	// EventID is the RDS event identifier where RDS has one (completed,
	// failed, canceled), else "".
	EventID string `json:"EventId,omitempty"`
	// Message is RDS's message for the event, or a sentence of ours.
	Message string    `json:"Message"`
	Time    time.Time `json:"Time"`
	// Table is the target of a table-completed event.
	Table string `json:"Table,omitempty"`
	// Task is the record when the event happened.
	Task ExportTask `json:"ExportTask"`
}

// emitter delivers a task's events (internal/notify: never blocking the
// task on the channel; the final event says how many were dropped and
// closes it), each stamped, worded and redacted. The nil *emitter
// delivers nothing.
type emitter struct {
	n      *notify.Events[Event]
	redact *redactor
}

func newEmitter(fn func(Event), ch chan<- Event, red *redactor) *emitter {
	if fn == nil && ch == nil {
		return nil
	}
	return &emitter{n: notify.NewEvents(fn, ch), redact: red}
}

func (e *emitter) prepare(ev Event) Event {
	ev.Time = time.Now().UTC()
	if ev.Message == "" {
		ev.Message = eventMessage(ev)
	}
	return e.redact.Event(ev)
}

func (e *emitter) emit(ev Event) {
	if e != nil {
		e.n.Emit(e.prepare(ev))
	}
}

// final delivers the final event and closes the channel.
func (e *emitter) final(ev Event) {
	if e == nil {
		return
	}
	e.n.Final(e.prepare(ev), func(ev Event, dropped int) Event {
		ev.Message += fmt.Sprintf(" (%d earlier events were dropped: the Events channel was full.)", dropped)
		return ev
	})
}

func eventMessage(ev Event) string {
	switch ev.Type {
	case EventCompleted:
		return "The snapshot export task completed."
	case EventFailed:
		return "The snapshot export task failed."
	case EventCanceled:
		return "The snapshot export task was canceled."
	case EventStarted:
		return "The snapshot export task started."
	case EventTableCompleted:
		return "Table " + ev.Table + " was exported."
	}
	return "The snapshot export task is " + string(ev.Task.Status) + "."
}

// finalEvent is the event of a final status.
func finalEvent(rec ExportTask) Event {
	switch rec.Status {
	case StatusComplete:
		return Event{Type: EventCompleted, EventID: RDSEventExportCompleted, Task: rec}
	case StatusCanceled:
		return Event{Type: EventCanceled, EventID: RDSEventExportCanceled, Task: rec}
	default:
		return Event{Type: EventFailed, EventID: RDSEventExportFailed, Task: rec}
	}
}
