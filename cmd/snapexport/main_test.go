package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
)

func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestStartExportTaskCompletes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shop.db")
	require.NoError(t, demodb.Create(context.Background(), db, 1))
	out := t.TempDir()
	code, stdout, stderr := runCLI(context.Background(), "start-export-task",
		"--export-task-identifier", "cli-1", "--source-arn", "sqlite://"+db, "--s3-bucket-name", "file://"+out,
		"--export-only", "shop.orders", "shop.customers", "--compression", "zstd", "--concurrency", "2", "--progress", "lines")
	require.Equal(t, exitOK, code, stderr)
	var rec snapexport.ExportTask
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec), stdout)
	assert.Equal(t, snapexport.StatusComplete, rec.Status)
	assert.Equal(t, []string{"shop.orders", "shop.customers"}, rec.ExportOnly)
	assert.Equal(t, int64(12000), rec.ExportedRows)
	assert.Contains(t, stderr, "COMPLETE 100%")
	files, _ := filepath.Glob(filepath.Join(out, "cli-1", "shop", "main.orders", "1", "part-00000-*.zstd.parquet"))
	assert.Len(t, files, 1)
	_, err := os.Stat(filepath.Join(out, "cli-1", "export_info_cli-1.json"))
	assert.NoError(t, err)
}

func TestStartExportTaskFailures(t *testing.T) {
	code, stdout, stderr := runCLI(context.Background(), "start-export-task",
		"--export-task-identifier", "cli-2", "--source-arn", "sqlite:///no/such.db", "--s3-bucket-name", "mem://cli")
	assert.Equal(t, exitFailed, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "/no/such.db")

	for _, args := range [][]string{
		{"start-export-task"},
		{"start-export-task", "--export-task-identifier", "x"},
		{"start-export-task", "--bogus"},
		{"start-export-task", "--export-task-identifier", "x", "--source-arn", "sqlite:///a", "--s3-bucket-name", "mem://x", "stray"},
		{"no-such-command"},
		{},
	} {
		code, _, stderr := runCLI(context.Background(), args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "usage", "%v", args)
	}
	code, _, stderr = runCLI(context.Background(), "start-export-task", "--export-task-identifier", "x", "--source-arn", "sqlite:///a", "--s3-bucket-name", "mem://x", "--compression", "lz4")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `"lz4"`)
	code, stdout, _ = runCLI(context.Background(), "start-export-task", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "--export-task-identifier", "help goes to stdout")
	assert.Contains(t, stdout, "--compression")
	code, _, _ = runCLI(context.Background(), "--help")
	assert.Equal(t, exitOK, code)
}

// TestInterruptCancels stands in for Ctrl-C: the command's context is
// cancelled, the task ends CANCELED and the exit code says so.
func TestInterruptCancels(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shop.db")
	require.NoError(t, demodb.Create(context.Background(), db, 20))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the export could finish
	code, stdout, stderr := runCLI(ctx, "start-export-task",
		"--export-task-identifier", "cli-3", "--source-arn", "sqlite://"+db, "--s3-bucket-name", "file://"+t.TempDir())
	if code == exitFailed && strings.Contains(stderr, "context canceled") {
		return // cancelled while opening the source: refused before any task existed
	}
	require.Equal(t, exitCanceled, code, stderr)
	var rec snapexport.ExportTask
	require.NoError(t, json.Unmarshal([]byte(stdout), &rec))
	assert.Equal(t, snapexport.StatusCanceled, rec.Status)
}

func TestSpreadMultiValues(t *testing.T) {
	got := spreadMultiValues([]string{"--export-only", "a", "b.c", "--s3-prefix", "p", "--export-only", "--x", "--export-only=d", "--type-override", "json=binary"})
	assert.Equal(t, []string{"--export-only", "a", "--export-only", "b.c", "--s3-prefix", "p", "--export-only", "--x", "--export-only=d", "--type-override", "json=binary"}, got)
}

func TestParseOverrides(t *testing.T) {
	o, err := parseOverrides([]string{"jsonb=binary", "db.public.t.c=decimal(10,2)", "timestamp=timestamp_millis"})
	require.NoError(t, err)
	assert.Equal(t, "binary", o.ByType["jsonb"].String())
	assert.Equal(t, "decimal(10,2)", o.ByColumn["db.public.t.c"].String())
	_, err = parseOverrides([]string{"nokind"})
	assert.Error(t, err)
	_, err = parseOverrides([]string{"x=notakind"})
	assert.ErrorContains(t, err, "notakind")
}
