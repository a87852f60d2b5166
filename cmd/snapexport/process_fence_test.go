package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
)

// The stall tests export one table of the process tests' database, in
// small files so that a part has published some when the process stops.
const stallTable = cliDB + ".public.t0"

func (c cliEnv) stallArgs(dest, id string, extra ...string) []string {
	return append([]string{"start-export-task", "--export-task-identifier", id, "--source-arn", c.pgURL, "--s3-bucket-name", dest,
		"--export-only", stallTable, "--concurrency", "1", "--heartbeat-interval", "300ms", "--target-file-bytes", "3000000"}, extra...)
}

func (c cliEnv) describeAt(t *testing.T, dest, id string) snapexport.ExportTask {
	t.Helper()
	code, stdout, stderr := c.run(t, "describe-export-tasks", "--s3-bucket-name", dest, "--filters", "Name=export-task-identifier,Values="+id)
	require.Equal(t, 0, code, stderr)
	var out snapexport.DescribeExportTasksOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	require.Len(t, out.ExportTasks, 1, stdout)
	return out.ExportTasks[0]
}

var logPattern = regexp.MustCompile(`its log is (\S+)`)

// startBackground starts an export with --no-wait and returns its pid and
// the path of its log.
func (c cliEnv) startBackground(t *testing.T, args []string) (int, string) {
	t.Helper()
	code, _, stderr := c.run(t, append(args, "--no-wait")...)
	require.Equal(t, 0, code, stderr)
	m := pidPattern.FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	pid, _ := strconv.Atoi(m[1])
	l := logPattern.FindStringSubmatch(stderr)
	require.NotNil(t, l, stderr)
	return pid, l[1]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting: %s", what)
		time.Sleep(50 * time.Millisecond)
	}
}

func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// TestProcessStalledThenResumed is the split-brain reproduction of issue
// 12: an exporting process is stopped (SIGSTOP) until its record is stale,
// another process resumes the task, then the first is continued (SIGCONT)
// while the second still runs. The first must publish nothing more and
// say why; the output must hold every row exactly once, the files listed
// in export_tables_info must be the files present, and nothing abandoned
// (temporary files, incomplete multipart uploads) may stay. Three rounds on
// a directory, two on versitygw. The old code let both processes report
// COMPLETE, with duplicate rows and tables info naming files that do not
// exist.
func TestProcessStalledThenResumed(t *testing.T) {
	c := setupCLI(t)
	dests := []struct{ kind, url string }{
		{"dir", "file://" + t.TempDir()}, {"dir", "file://" + t.TempDir()}, {"dir", "file://" + t.TempDir()},
		{"s3", c.dest()}, {"s3", c.dest()},
	}
	for round, d := range dests {
		t.Run(fmt.Sprintf("%s-%d", d.kind, round), func(t *testing.T) {
			id := fmt.Sprintf("own-stall-%d", round)
			pid, logPath := c.startBackground(t, c.stallArgs(d.url, id))
			waitUntil(t, "first process exporting", func() bool {
				rec := c.describeAt(t, d.url, id)
				require.NotEqual(t, snapexport.StatusComplete, rec.Status, "finished before it could be stopped")
				return rec.Status == snapexport.StatusInProgress && rec.ExportedRows > 100000
			})
			require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
			stopped := true
			defer func() {
				if stopped {
					_ = syscall.Kill(pid, syscall.SIGCONT)
				}
			}()
			waitUntil(t, "the stopped process reported stale", func() bool { return c.describeAt(t, d.url, id).Status == snapexport.StatusFailed })

			resume := exec.Command(c.bin, c.stallArgs(d.url, id, "--resume", "--progress", "none")...)
			resume.Env = c.env
			var out, errb bytes.Buffer
			resume.Stdout, resume.Stderr = &out, &errb
			require.NoError(t, resume.Start())
			waitUntil(t, "the resume running", func() bool {
				rec := c.describeAt(t, d.url, id)
				return rec.Status == snapexport.StatusInProgress || rec.Status.Final() && rec.Status != snapexport.StatusFailed
			})
			require.NoError(t, syscall.Kill(pid, syscall.SIGCONT)) // both run now
			stopped = false
			err := resume.Wait()
			require.NoError(t, err, errb.String())
			var rec snapexport.ExportTask
			require.NoError(t, json.Unmarshal(out.Bytes(), &rec), out.String())
			require.Equal(t, snapexport.StatusComplete, rec.Status)

			waitUntil(t, "the first process exited", func() bool { return processGone(pid) })
			log, _ := os.ReadFile(logPath)
			assert.Contains(t, string(log), "another process took over this export", "the first process says why it stopped")
			time.Sleep(time.Second) // anything it might still write lands by now
			assert.Equal(t, snapexport.StatusComplete, c.describeAt(t, d.url, id).Status, "the first process did not overwrite the record")
			c.assertExactOutput(t, d.url, id, cliRowsEach)
		})
	}
}

// assertExactOutput checks a COMPLETE export of stallTable: files listed =
// files present, count = distinct id = rows, and nothing abandoned under
// the task's prefix.
func (c cliEnv) assertExactOutput(t *testing.T, dest, id string, rows int64) {
	t.Helper()
	ctx := context.Background()
	c.awsEnv(t)
	s, err := sink.OpenURL(ctx, dest)
	require.NoError(t, err)
	defer s.Close()
	var listed, present []string
	for obj, err := range s.List(ctx, id+"/export_tables_info_") {
		require.NoError(t, err)
		b, err := sink.ReadObject(ctx, s, obj.Key)
		require.NoError(t, err)
		var ti manifest.TablesInfo
		require.NoError(t, json.Unmarshal(b, &ti))
		for _, ts := range ti.PerTableStatus {
			listed = append(listed, ts.TableStatistics.Files...)
		}
	}
	local := t.TempDir()
	for obj, err := range s.List(ctx, id+"/") {
		require.NoError(t, err)
		if !strings.HasSuffix(obj.Key, ".parquet") {
			continue
		}
		present = append(present, obj.Key)
		b, err := sink.ReadObject(ctx, s, obj.Key)
		require.NoError(t, err)
		p := filepath.Join(local, obj.Key)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	slices.Sort(listed)
	assert.Equal(t, present, listed, "files listed in export_tables_info = files present")
	duck := duckcheck.Open(t)
	got := duck.Rows(`SELECT count(*), count(DISTINCT id) FROM read_parquet(?)`, filepath.Join(local, id, "*", "*", "*", "*.parquet"))
	assert.Equal(t, []any{rows, rows}, got[0], "count = distinct key = source rows")
	assertNothingAbandoned(t, s, id+"/")
}

// assertNothingAbandoned lists the abandoned writes under prefix (S3:
// ListMultipartUploads; dirsink: its temporary files).
func assertNothingAbandoned(t *testing.T, s sink.Sink, prefix string) {
	t.Helper()
	sw, ok := s.(sink.Sweeper)
	require.True(t, ok, "%T lists abandoned writes", s)
	var left []string
	for a, err := range sw.Abandoned(context.Background(), prefix) {
		require.NoError(t, err)
		left = append(left, a.Key+" "+a.ID)
	}
	assert.Empty(t, left, "no temporary file or incomplete upload stays")
}

// TestProcessInterruptedLeavesNothing: SIGINT while files upload to S3
// ends the task CANCELED with no incomplete multipart upload left (the
// aborts are awaited before the process exits), and kill -9 followed by a
// resume leaves none either, nor temporary files on a directory. The old
// code left the uploads of the interrupted writes (2 per run) and the
// killed process's temporary files in the table folders.
func TestProcessInterruptedLeavesNothing(t *testing.T) {
	c := setupCLI(t)
	c.awsEnv(t)
	ctx := context.Background()
	for _, kind := range []string{"s3", "dir"} {
		t.Run(kind, func(t *testing.T) {
			dest := c.dest()
			if kind == "dir" {
				dest = "file://" + t.TempDir()
			}
			progressed := func(id string) func() bool {
				return func() bool {
					rec := c.describeAt(t, dest, id)
					require.NotEqual(t, snapexport.StatusComplete, rec.Status, "finished before it could be interrupted")
					return rec.Status == snapexport.StatusInProgress && rec.ExportedRows > 100000
				}
			}
			s, err := sink.OpenURL(ctx, dest)
			require.NoError(t, err)
			defer s.Close()

			id := "own-sigint-" + kind
			pid, _ := c.startBackground(t, c.stallArgs(dest, id))
			waitUntil(t, "exporting", progressed(id))
			require.NoError(t, syscall.Kill(pid, syscall.SIGINT))
			waitUntil(t, "the interrupted process exited", func() bool { return processGone(pid) })
			assert.Equal(t, snapexport.StatusCanceled, c.describeAt(t, dest, id).Status)
			assertNothingAbandoned(t, s, id+"/")

			id = "own-kill-" + kind
			pid, _ = c.startBackground(t, c.stallArgs(dest, id))
			waitUntil(t, "exporting", progressed(id))
			require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			waitUntil(t, "reported stale", func() bool { return c.describeAt(t, dest, id).Status == snapexport.StatusFailed })
			code, _, stderr := c.run(t, c.stallArgs(dest, id, "--resume", "--progress", "none")...)
			require.Equal(t, 0, code, stderr)
			c.assertExactOutput(t, dest, id, cliRowsEach)
		})
	}
}

// awsEnv gives the test process the credentials of the S3 server.
func (c cliEnv) awsEnv(t *testing.T) {
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
}
