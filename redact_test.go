package snapexport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// leakySecret is the password of the leaky:// test source's URLs.
const leakySecret = "S3cr3t-P@ss"

// The leaky:// source is a SQLite database whose errors and warnings echo
// the URL and its password, the way a server's error quotes the statement
// it refused (MySQL: "near 'S3cr3t-P@ss, time_zone = …'"). The fail
// parameter says where: open, snapshot or scan.
func init() {
	source.Register("leaky", func(ctx context.Context, u *url.URL) (source.Source, error) {
		pw, _ := u.User.Password()
		raw := u.String()
		switch u.Query().Get("fail") {
		case "open":
			return nil, fmt.Errorf("cannot connect to %s: near '%s, time_zone = '+00:00'' at line 1", raw, pw)
		}
		src, err := sqlitesource.Open(ctx, u.Query().Get("db"), nil)
		if err != nil {
			return nil, err
		}
		return &leakySource{Source: src, pw: pw, fail: u.Query().Get("fail")}, nil
	})
}

type leakySource struct {
	source.Source
	pw, fail string
}

func (l *leakySource) Identity() string { return "leaky://db" }

func (l *leakySource) Snapshot(ctx context.Context, o source.SnapshotOptions) (source.Snapshot, error) {
	if l.fail == "snapshot" {
		return nil, fmt.Errorf("Access denied for user 'u' using password '%s'", l.pw)
	}
	s, err := l.Source.Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	return &leakySnapshot{Snapshot: s, l: l}, nil
}

type leakySnapshot struct {
	source.Snapshot
	l *leakySource
}

func (s *leakySnapshot) Info() source.SnapshotInfo {
	i := s.Snapshot.Info()
	i.Warnings = append(i.Warnings, source.Warning{Reason: "TEST", Detail: "session variable password=" + s.l.pw + " was ignored"})
	return i
}

func (s *leakySnapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	if s.l.fail == "scan" {
		return nil, fmt.Errorf("You have an error in your SQL syntax near %q", s.l.pw+"', sql_mode='")
	}
	return s.Snapshot.Scan(ctx, req)
}

// leakyURL is a leaky:// URL with the password escaped as a URL carries it.
func leakyURL(t *testing.T, fail string) string {
	u := url.URL{Scheme: "leaky", User: url.UserPassword("u", leakySecret), Host: "host",
		RawQuery: url.Values{"db": {demoDB(t, 1)}, "fail": {fail}}.Encode()}
	return u.String()
}

// TestSecretsAreRedacted fails tasks whose driver errors and warnings echo the
// password at each stage and greps everything the library hands out for it:
// the errors of StartExportTask and Wait, the records (Info, Wait,
// DescribeExportTasks and the destination's files), events and progress.
func TestSecretsAreRedacted(t *testing.T) {
	forms := []string{leakySecret, url.QueryEscape(leakySecret), url.PathEscape(leakySecret), "S3cr3t-P%40ss"}
	noSecret := func(t *testing.T, what, s string) {
		t.Helper()
		for _, f := range forms {
			assert.NotContains(t, s, f, "%s holds the password", what)
		}
	}

	t.Run("open", func(t *testing.T) {
		exp := newExporter(t)
		_, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: "leak-open", SourceArn: leakyURL(t, "open"), S3BucketName: "mem://leak-open"})
		require.Error(t, err)
		noSecret(t, "the StartExportTask error", err.Error())
		assert.ErrorIs(t, err, snapexport.ErrSourceNotFound, "the fault survives redaction")
		var e *snapexport.Error
		assert.True(t, errors.As(err, &e), "still an *Error")
		assert.Contains(t, err.Error(), "xxxxx")
	})

	for _, stage := range []string{"snapshot", "scan"} {
		t.Run(stage, func(t *testing.T) {
			id := "leak-" + stage
			var mu sync.Mutex
			var texts []string
			keep := func(what, s string) {
				mu.Lock()
				texts = append(texts, what+": "+s)
				mu.Unlock()
			}
			mem := memsink.New("leak-" + stage)
			exp, err := snapexport.New(snapexport.Config{DestinationSink: mem})
			require.NoError(t, err)
			defer exp.Close()
			task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
				ExportTaskIdentifier: id, SourceArn: leakyURL(t, stage), Sink: mem, ExportOnly: []string{"shop.orders"},
				Options: &snapexport.TaskOptions{Concurrency: 1, OnEvent: func(ev snapexport.Event) {
					b, _ := json.Marshal(ev)
					keep("event", string(b))
				}},
			})
			require.NoError(t, err)
			for p := range task.Progress() {
				keep("progress", fmt.Sprintf("%+v", p))
			}
			rec, err := task.Wait(context.Background())
			require.Error(t, err)
			assert.ErrorIs(t, err, snapexport.ErrExportFailed)
			require.Equal(t, snapexport.StatusFailed, rec.Status)
			require.NotEmpty(t, rec.FailureCause)
			assert.Contains(t, rec.FailureCause, "xxxxx", "the cause still says what failed")
			keep("Wait error", err.Error())
			b, _ := json.Marshal(rec)
			keep("Wait record", string(b))
			b, _ = json.Marshal(task.Info())
			keep("Info", string(b))
			out, err := exp.DescribeExportTasks(context.Background(), snapexport.DescribeExportTasksInput{})
			require.NoError(t, err)
			b, _ = json.Marshal(out)
			keep("describe", string(b))
			if stage == "scan" {
				assert.Contains(t, rec.WarningMessage, "password=xxxxx", "warnings are redacted, not dropped")
			}
			n := 0
			for obj, err := range mem.List(context.Background(), "") {
				require.NoError(t, err)
				data, err := sink.ReadObject(context.Background(), mem, obj.Key)
				require.NoError(t, err)
				keep(obj.Key, string(data))
				n++
			}
			require.NotZero(t, n, "the destination holds the task's record")
			for _, s := range texts {
				noSecret(t, s[:strings.Index(s, ":")], s)
			}
		})
	}
}
