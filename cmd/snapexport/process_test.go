package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
)

func TestMain(m *testing.M) { testenv.RunWithS3(m) }

// The tables of the process tests: big enough that an export with one
// worker takes seconds, so other processes can watch, cancel and kill it.
const (
	cliDB       = "snapexport_cli_test"
	cliTables   = 3
	cliRowsEach = 600000
)

// cliEnv is what the process tests share: the binary, the database URL,
// the S3 server and the environment the processes need.
type cliEnv struct {
	bin    string
	pgURL  string
	s3     testenv.S3Server
	env    []string
	bucket string
}

func setupCLI(t *testing.T) cliEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("process tests build the binary and load a database; skipped with -short")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	defer admin.Close(ctx)
	s3 := testenv.S3(t)

	var exists bool
	require.NoError(t, admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, cliDB).Scan(&exists))
	if !exists {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+cliDB)
		require.NoError(t, err)
	}
	u := strings.Replace(testenv.PostgresURL(), "/test?", "/"+cliDB+"?", 1)
	require.Contains(t, u, cliDB, "SNAPEXPORT_PG_URL must end in /test?...")
	db, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer db.Close(ctx)
	for i := 0; i < cliTables; i++ {
		name := fmt.Sprintf("t%d", i)
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&n); err == nil && n == cliRowsEach {
			continue
		}
		_, err = db.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %[1]s;
			CREATE TABLE %[1]s (id bigint PRIMARY KEY, v text, n numeric(12,3), at timestamptz);
			INSERT INTO %[1]s SELECT g, md5(g::text), g / 7.0, '2020-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, %[2]d) g;
			ANALYZE %[1]s;`, name, cliRowsEach))
		require.NoError(t, err)
	}

	bin := filepath.Join(t.TempDir(), "snapexport")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	return cliEnv{
		bin: bin, pgURL: u, s3: s3, bucket: s3.NewBucket(t),
		env: append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey, "AWS_REGION="+s3.Region,
			"TMPDIR="+t.TempDir()),
	}
}

func (c cliEnv) dest() string { return c.s3.URL(c.bucket) }

// run runs the binary as a separate process.
func (c cliEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

func (c cliEnv) describe(t *testing.T, id string) snapexport.ExportTask {
	t.Helper()
	code, stdout, stderr := c.run(t, "describe-export-tasks", "--s3-bucket-name", c.dest(),
		"--filters", "Name=export-task-identifier,Values="+id)
	require.Equal(t, 0, code, stderr)
	var out snapexport.DescribeExportTasksOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	require.Len(t, out.ExportTasks, 1, stdout)
	return out.ExportTasks[0]
}

var pidPattern = regexp.MustCompile(`runs in process (\d+)`)

// startNoWait starts an export in the background and returns its pid.
func (c cliEnv) startNoWait(t *testing.T, id string, extra ...string) int {
	t.Helper()
	args := append([]string{"start-export-task", "--export-task-identifier", id, "--source-arn", c.pgURL,
		"--s3-bucket-name", c.dest(), "--export-only", cliDB, "--concurrency", "1", "--heartbeat-interval", "300ms",
		"--no-wait"}, extra...)
	code, stdout, stderr := c.run(t, args...)
	require.Equal(t, 0, code, stderr)
	var rec snapexport.ExportTask
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec), stdout)
	assert.Equal(t, id, rec.ExportTaskIdentifier)
	assert.Contains(t, []snapexport.Status{snapexport.StatusStarting, snapexport.StatusInProgress}, rec.Status)
	m := pidPattern.FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// TestProcessesDescribeAndCancel: one process exports in the background,
// another watches it progress, a third cancels it.
func TestProcessesDescribeAndCancel(t *testing.T) {
	c := setupCLI(t)
	c.startNoWait(t, "proc-cancel")

	var seen []int
	deadline := time.Now().Add(2 * time.Minute)
	for len(seen) < 2 || seen[len(seen)-1] <= seen[0] {
		require.True(t, time.Now().Before(deadline), "never saw the percent grow: %v", seen)
		rec := c.describe(t, "proc-cancel")
		require.NotEqual(t, snapexport.StatusComplete, rec.Status, "the export finished before it could be watched")
		if rec.Status == snapexport.StatusInProgress {
			seen = append(seen, rec.PercentProgress)
		}
		time.Sleep(150 * time.Millisecond)
	}

	code, stdout, stderr := c.run(t, "cancel-export-task", "--export-task-identifier", "proc-cancel", "--s3-bucket-name", c.dest())
	require.Equal(t, 0, code, stderr)
	var rec snapexport.ExportTask
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec))
	assert.Equal(t, snapexport.StatusCanceling, rec.Status)

	cancelAsked := time.Now()
	for {
		rec = c.describe(t, "proc-cancel")
		if rec.Status == snapexport.StatusCanceled {
			break
		}
		require.True(t, time.Since(cancelAsked) < 30*time.Second, "still %s", rec.Status)
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("canceled %s after the request", time.Since(cancelAsked).Round(10*time.Millisecond))

	code, _, stderr = c.run(t, "cancel-export-task", "--export-task-identifier", "proc-cancel", "--s3-bucket-name", c.dest())
	assert.Equal(t, exitServiceError, code)
	assert.Contains(t, stderr, "CANCELED")

	code, stdout, _ = c.run(t, "describe-export-tasks", "--s3-bucket-name", c.dest(), "--output", "table")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "proc-cancel")
}

// TestProcessKilledThenResumed kills an exporting process with SIGKILL,
// sees the task reported FAILED once its heartbeat is stale, resumes it,
// and compares the result with a clean export in DuckDB.
func TestProcessKilledThenResumed(t *testing.T) {
	c := setupCLI(t)
	pid := c.startNoWait(t, "proc-kill")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rec := c.describe(t, "proc-kill")
		require.NotEqual(t, snapexport.StatusComplete, rec.Status, "the export finished before it could be killed")
		if rec.Status == snapexport.StatusInProgress && rec.TablesCompleted >= 1 {
			break
		}
		require.True(t, time.Now().Before(deadline))
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	var rec snapexport.ExportTask
	for {
		rec = c.describe(t, "proc-kill")
		if rec.Status == snapexport.StatusFailed {
			break
		}
		require.True(t, time.Now().Before(deadline), "never reported stale: %s", rec.Status)
		time.Sleep(100 * time.Millisecond)
	}
	assert.Contains(t, rec.FailureCause, "stopped responding")

	code, stdout, stderr := c.run(t, "start-export-task", "--export-task-identifier", "proc-kill", "--source-arn", c.pgURL,
		"--s3-bucket-name", c.dest(), "--export-only", cliDB, "--concurrency", "1", "--heartbeat-interval", "300ms", "--resume", "--progress", "none")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec))
	assert.Equal(t, snapexport.StatusComplete, rec.Status)
	require.NotNil(t, rec.ResumedFrom)
	assert.GreaterOrEqual(t, rec.ResumedFrom.PartitionsKept, 1)

	code, _, stderr = c.run(t, "start-export-task", "--export-task-identifier", "proc-clean", "--source-arn", c.pgURL,
		"--s3-bucket-name", c.dest(), "--export-only", cliDB, "--concurrency", "1", "--progress", "none")
	require.Equal(t, 0, code, stderr)

	resumed := c.download(t, "proc-kill/")
	clean := c.download(t, "proc-clean/")
	duck := duckcheck.Open(t)
	for i := 0; i < cliTables; i++ {
		dir := fmt.Sprintf("%s/public.t%d/1", cliDB, i)
		q := `SELECT count(*), sum(id), sum(hash(id, v, n, "at")) FROM read_parquet(?)`
		got := duck.Rows(q, filepath.Join(resumed, dir, "*.parquet"))
		want := duck.Rows(q, filepath.Join(clean, dir, "*.parquet"))
		assert.Equal(t, want, got, "table t%d", i)
		assert.Equal(t, int64(cliRowsEach), got[0][0], "table t%d", i)
		assert.Equal(t, partitionsOf(t, filepath.Join(clean, dir)), partitionsOf(t, filepath.Join(resumed, dir)),
			"table t%d: the same partitions, one file each, as a clean run", i)
	}
}

// partitionsOf lists the part-NNNNN prefixes of a batch folder's files, one
// entry per file.
func partitionsOf(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f)[:len("part-00000")])
	}
	return out
}

// download copies every object under prefix to a local directory.
func (c cliEnv) download(t *testing.T, prefix string) string {
	t.Helper()
	ctx := context.Background()
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	s, err := sink.OpenURL(ctx, c.dest())
	require.NoError(t, err)
	defer s.Close()
	dir := t.TempDir()
	for obj, err := range s.List(ctx, prefix) {
		require.NoError(t, err)
		b, err := sink.ReadObject(ctx, s, obj.Key)
		require.NoError(t, err)
		path := filepath.Join(dir, strings.TrimPrefix(obj.Key, prefix))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	return dir
}
