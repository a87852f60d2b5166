package main

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/snapexport/snapexport"
)

// TestPeakMemoryFollowsBudget exports tables that blow up naive exporters
// (values of 20 MB each, a 300-column table) in a separate process and
// checks its peak RSS against the budget plus the documented overheads.
func TestPeakMemoryFollowsBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and a 160 MB database; skipped with -short")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "big.db")
	db, err := sql.Open("sqlite", "file:"+dbPath)
	require.NoError(t, err)
	ctx := context.Background()
	const valueBytes = 20 << 20
	_, err = db.ExecContext(ctx, `CREATE TABLE huge (id INTEGER PRIMARY KEY, body TEXT)`)
	require.NoError(t, err)
	for i := 0; i < 8; i++ {
		_, err = db.ExecContext(ctx, `INSERT INTO huge VALUES (?, ?)`, i, strings.Repeat(fmt.Sprintf("%x", i%16), valueBytes))
		require.NoError(t, err)
	}
	var cols []string
	for i := 0; i < 300; i++ {
		cols = append(cols, fmt.Sprintf("c%03d TEXT", i))
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE wide (id INTEGER PRIMARY KEY, `+strings.Join(cols, ", ")+`)`)
	require.NoError(t, err)
	var vals []string
	for i := 0; i < 300; i++ {
		vals = append(vals, fmt.Sprintf("'value %d of a wide row'", i))
	}
	_, err = db.ExecContext(ctx, `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n WHERE x < 10000)
		INSERT INTO wide SELECT x, `+strings.Join(vals, ", ")+` FROM n`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	bin := filepath.Join(dir, "snapexport")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))

	const budget = 64 << 20
	const workers = 2
	cmd := exec.Command(bin, "start-export-task", "--export-task-identifier", "mem-1", "--source-arn", "sqlite://"+dbPath,
		"--s3-bucket-name", "file://"+filepath.Join(dir, "out"), "--memory-limit", fmt.Sprint(budget),
		"--concurrency", fmt.Sprint(workers), "--progress", "none")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), `"Status": "COMPLETE"`)
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	limit := int64(budget + snapexport.FixedMemoryOverhead + 10*valueBytes)
	t.Logf("peak RSS %d MiB, limit %d MiB", peak>>20, limit>>20)
	require.Less(t, peak, limit, "peak RSS above budget + fixed overhead + 10 × the largest row")
}
