package snapexport

import "time"

// Progress is one cumulative report of a task's progress.
type Progress struct {
	Status          Status
	PercentProgress int
	// Rows and Bytes exported so far (Bytes: Parquet bytes written).
	Rows  int64
	Bytes int64
	// TablesCompleted of TablesTotal are done.
	TablesCompleted int
	TablesTotal     int
	// Table is the target ("db.schema.table") the report is about, if any.
	Table string
	// Time is when the report was made.
	Time time.Time
}

// subscription is one reader's channel. It holds at most one pending value:
// a newer value replaces an unread one, so the sender never blocks.
type subscription struct {
	ch chan Progress
}

func newSubscription() *subscription { return &subscription{ch: make(chan Progress, 1)} }

// offer delivers p, replacing a pending value the reader has not taken. Only
// the task's publisher calls it, under the task's lock, so between draining
// and sending nobody else can fill the buffer.
func (s *subscription) offer(p Progress) {
	for {
		select {
		case s.ch <- p:
			return
		default:
		}
		select {
		case <-s.ch:
		default:
		}
	}
}

// finish delivers the final value and closes the channel.
func (s *subscription) finish(p Progress) {
	s.offer(p)
	close(s.ch)
}
