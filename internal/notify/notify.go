// Package notify delivers a task's notifications without ever letting a
// slow reader hold the task up: Latest keeps a reader's newest value
// (progress, which is cumulative), Events delivers every value in order
// and drops what a full channel cannot take (events, whose loss the final
// one reports).
package notify

import "sync"

// Latest is one reader's channel. It holds at most one pending value: a
// newer value replaces an unread one, so the sender never blocks.
type Latest[T any] struct {
	C chan T
}

// NewLatest is a reader's channel with nothing pending.
func NewLatest[T any]() *Latest[T] { return &Latest[T]{C: make(chan T, 1)} }

// Offer delivers v, replacing a pending value the reader has not taken.
// One sender only (the task's publisher, under its lock), so between
// draining and sending nobody else can fill the buffer.
func (s *Latest[T]) Offer(v T) {
	for {
		select {
		case s.C <- v:
			return
		default:
		}
		select {
		case <-s.C:
		default:
		}
	}
}

// Finish delivers the final value and closes the channel.
func (s *Latest[T]) Finish(v T) {
	s.Offer(v)
	close(s.C)
}

// Events delivers values in order to a callback and a channel, never
// blocking on the channel: a value that finds it full is dropped and
// counted. The final value is always delivered, by a goroutine of its own
// when the channel is full, and the channel is closed after it. The
// callback is called in order from the senders' goroutines.
type Events[T any] struct {
	mu      sync.Mutex
	fn      func(T)
	ch      chan<- T
	closed  bool
	dropped int
}

// NewEvents delivers to fn and ch; either may be nil.
func NewEvents[T any](fn func(T), ch chan<- T) *Events[T] { return &Events[T]{fn: fn, ch: ch} }

// Emit delivers v, or drops it if the channel is full.
func (e *Events[T]) Emit(v T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.fn != nil {
		e.fn(v)
	}
	if e.ch != nil {
		select {
		case e.ch <- v:
		default:
			e.dropped++
		}
	}
}

// Final delivers the last value, told first (note) how many were dropped,
// and closes the channel.
func (e *Events[T]) Final(v T, note func(v T, dropped int) T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	if e.dropped > 0 {
		v = note(v, e.dropped)
	}
	if e.fn != nil {
		e.fn(v)
	}
	if e.ch == nil {
		return
	}
	select {
	case e.ch <- v:
		close(e.ch)
	default:
		go func(ch chan<- T) { // the reader takes it when it reads again
			ch <- v
			close(ch)
		}(e.ch)
	}
}
