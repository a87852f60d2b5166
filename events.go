package snapexport

import (
	"fmt"
	"sync"
	"time"
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

// emitter delivers a task's events in order to the callback and channel of
// its options, never blocking the task or the caller on the channel: an
// event that finds the channel full is dropped (a buffer of 64 holds the
// events of tasks of up to about 60 tables read late), and the final event
// says how many were. The final event is always delivered, by a goroutine
// of its own when the channel is full, and the channel is closed after it.
// The callback is called in order from the task's goroutines.
type emitter struct {
	mu      sync.Mutex
	fn      func(Event)
	ch      chan<- Event
	closed  bool
	dropped int
	// redact hides the task's secrets in every event.
	redact *redactor
}

func (e *emitter) prepare(ev *Event) bool {
	if e == nil || (e.fn == nil && e.ch == nil) {
		return false
	}
	ev.Time = time.Now().UTC()
	if ev.Message == "" {
		ev.Message = eventMessage(*ev)
	}
	*ev = e.redact.Event(*ev)
	return true
}

func (e *emitter) emit(ev Event) {
	if !e.prepare(&ev) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.fn != nil {
		e.fn(ev)
	}
	if e.ch != nil {
		select {
		case e.ch <- ev:
		default:
			e.dropped++
		}
	}
}

// final delivers the final event and closes the channel.
func (e *emitter) final(ev Event) {
	if !e.prepare(&ev) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	if e.dropped > 0 {
		ev.Message += fmt.Sprintf(" (%d earlier events were dropped: the Events channel was full.)", e.dropped)
	}
	if e.fn != nil {
		e.fn(ev)
	}
	if e.ch == nil {
		return
	}
	select {
	case e.ch <- ev:
		close(e.ch)
	default:
		go func(ch chan<- Event) { // the reader takes it when it reads again
			ch <- ev
			close(ch)
		}(e.ch)
	}
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
