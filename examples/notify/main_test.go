package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
)

// hook records the events posted to it.
type hook struct {
	mu     sync.Mutex
	events []snapexport.Event
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e snapexport.Event
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *hook) last() snapexport.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[len(h.events)-1]
}

func TestCompletedEventReachesWebhook(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	require.NoError(t, run(context.Background(), []string{"-webhook", srv.URL, "-id", "notify-ok"}))
	assert.Equal(t, snapexport.EventStarted, h.events[0].Type)
	last := h.last()
	assert.Equal(t, snapexport.EventCompleted, last.Type)
	assert.Equal(t, "RDS-EVENT-0161", last.EventID)
	assert.Equal(t, "notify-ok", last.Task.ExportTaskIdentifier)
}

func TestFailedEventReachesWebhook(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	require.NoError(t, run(context.Background(), []string{"-webhook", srv.URL, "-id", "notify-fail", "-max-value-bytes", "8"}))
	last := h.last()
	assert.Equal(t, snapexport.EventFailed, last.Type)
	assert.Equal(t, "RDS-EVENT-0159", last.EventID)
	assert.NotEmpty(t, last.Task.FailureCause)
}

func TestCanceledEventReachesWebhook(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel as soon as the task reports its start: the export ends CANCELED.
	cancelOnStart := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		cancel()
	})
	srv.Config.Handler = cancelOnStart
	err := run(ctx, []string{"-webhook", srv.URL, "-id", "notify-cancel"})
	require.NoError(t, err)
	last := h.last()
	assert.Equal(t, snapexport.EventCanceled, last.Type)
	assert.Equal(t, "RDS-EVENT-0160", last.EventID)
}

func TestWebhookRequired(t *testing.T) {
	assert.ErrorContains(t, run(context.Background(), nil), "-webhook")
}
