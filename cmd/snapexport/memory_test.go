package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/testenv"
)

// The budget and workers of every case: the bound is the budget plus
// snapexport.FixedMemoryOverhead, plus what six copies of the largest row
// exceed the budget by (see snapexport.TaskOptions.MemoryLimit).
const (
	memBudget  = 64 << 20
	memWorkers = 2
	mib        = 1 << 20
)

// TestPeakMemoryFollowsBudget exports tables that blow up naive exporters
// (values of 20 MB and 50 MB each, a 300-column table) in a separate process
// and checks its peak RSS against the budget plus the documented overheads,
// and the files against the source.
func TestPeakMemoryFollowsBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and databases of 160 to 300 MB; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "snapexport")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))

	// The case: with 20 MB values the process stays under the
	// budget plus the fixed overhead, no per-row term.
	t.Run("SQLite 20 MB values and a 300-column table", func(t *testing.T) {
		const valueBytes = 20 << 20
		dbPath := filepath.Join(t.TempDir(), "big.db")
		db := openSQLite(t, dbPath)
		createHugeSQLite(t, db, "huge", 8, valueBytes)
		createWideSQLite(t, db)
		require.NoError(t, db.Close())

		peak, dir := exportPeak(t, bin, "sqlite://"+dbPath)
		checkHugeFiles(t, dir, "huge", 8, valueBytes)
		limit := int64(memBudget + snapexport.FixedMemoryOverhead)
		t.Logf("peak RSS %d MiB, limit %d MiB (budget + FixedMemoryOverhead)", peak/mib, limit/mib)
		require.Less(t, peak, limit, "peak RSS above budget + fixed overhead")
	})

	// Values of 50 MB: six copies exceed the 64 MiB budget, and the
	// documented bound adds the difference, and the row the other worker
	// holds while it waits. Two tables, so both workers meet huge rows at
	// once and must share the budget without deadlock.
	t.Run("SQLite 50 MB values in two tables", func(t *testing.T) {
		const valueBytes = 50 << 20
		dbPath := filepath.Join(t.TempDir(), "big.db")
		db := openSQLite(t, dbPath)
		createHugeSQLite(t, db, "huge_a", 3, valueBytes)
		createHugeSQLite(t, db, "huge_b", 3, valueBytes)
		require.NoError(t, db.Close())

		peak, dir := exportPeak(t, bin, "sqlite://"+dbPath)
		checkHugeFiles(t, dir, "huge_a", 3, valueBytes)
		checkHugeFiles(t, dir, "huge_b", 3, valueBytes)
		limit := documentedBound(valueBytes)
		t.Logf("peak RSS %d MiB, limit %d MiB (budget + FixedMemoryOverhead + 6 × %d MiB − budget + 2 × %[3]d MiB × (workers − 1))", peak/mib, limit/mib, valueBytes/mib)
		require.Less(t, peak, limit, "peak RSS above the documented bound")
	})

	t.Run("PostgreSQL 20 MB values", func(t *testing.T) {
		const valueBytes = 20 << 20
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, testenv.PostgresURL())
		if err != nil {
			testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) }) // after the table's drop, registered below
		var database string
		require.NoError(t, conn.QueryRow(ctx, `SELECT current_database()`).Scan(&database))
		table := fmt.Sprintf("snapexport_memtest_%d", time.Now().UnixNano())
		t.Cleanup(func() {
			_, err := conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
			require.NoError(t, err)
		})
		// EXTERNAL: stored out of line without compression, as most large
		// documents that do not compress are; the export reads them whole.
		_, err = conn.Exec(ctx, `CREATE TABLE `+table+` (id integer PRIMARY KEY, body text);
			ALTER TABLE `+table+` ALTER body SET STORAGE EXTERNAL`)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, `INSERT INTO `+table+` SELECT i, repeat(to_hex(i % 16), $1) FROM generate_series(0, 7) i`, valueBytes)
		require.NoError(t, err)

		peak, dir := exportPeak(t, bin, testenv.PostgresURL(), "--export-only", database+".public."+table)
		checkHugeFiles(t, dir, table, 8, valueBytes)
		limit := int64(memBudget + snapexport.FixedMemoryOverhead)
		t.Logf("peak RSS %d MiB, limit %d MiB (budget + FixedMemoryOverhead)", peak/mib, limit/mib)
		require.Less(t, peak, limit, "peak RSS above budget + fixed overhead")
	})
}

// documentedBound is the peak RSS snapexport.TaskOptions.MemoryLimit
// documents for rows of rowBytes.
func documentedBound(rowBytes int64) int64 {
	return memBudget + snapexport.FixedMemoryOverhead + max(0, 6*rowBytes-memBudget) + 2*rowBytes*(memWorkers-1)
}

func openSQLite(t *testing.T, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	return db
}

// createHugeSQLite creates table (id, body TEXT) with rows values of
// valueBytes, each one hex digit repeated.
func createHugeSQLite(t *testing.T, db *sql.DB, table string, rows int, valueBytes int) {
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `CREATE TABLE `+table+` (id INTEGER PRIMARY KEY, body TEXT)`)
	require.NoError(t, err)
	for i := 0; i < rows; i++ {
		_, err = db.ExecContext(ctx, `INSERT INTO `+table+` VALUES (?, ?)`, i, strings.Repeat(fmt.Sprintf("%x", i%16), valueBytes))
		require.NoError(t, err)
	}
}

// createWideSQLite creates wide: 10,000 rows of 300 TEXT columns.
func createWideSQLite(t *testing.T, db *sql.DB) {
	var cols, vals []string
	for i := 0; i < 300; i++ {
		cols = append(cols, fmt.Sprintf("c%03d TEXT", i))
		vals = append(vals, fmt.Sprintf("'value %d of a wide row'", i))
	}
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `CREATE TABLE wide (id INTEGER PRIMARY KEY, `+strings.Join(cols, ", ")+`)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n WHERE x < 10000)
		INSERT INTO wide SELECT x, `+strings.Join(vals, ", ")+` FROM n`)
	require.NoError(t, err)
}

// exportPeak runs the CLI on source with the test's budget and workers,
// and returns its peak RSS and the destination directory.
//
// The peak is the child's VmHWM, read from /proc while it runs: the
// rusage of a child started by Go counts the test process's own peak too
// (the child is cloned sharing the parent's memory, and Linux carries that
// memory's high-water mark over the exec), and this test holds large
// values itself while it builds the databases and reads the files back.
func exportPeak(t *testing.T, bin, source string, args ...string) (int64, string) {
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"start-export-task", "--export-task-identifier", "mem-1", "--source-arn", source,
		"--s3-bucket-name", "file://" + dir, "--memory-limit", fmt.Sprint(memBudget),
		"--concurrency", fmt.Sprint(memWorkers), "--progress", "none"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		var peak int64
		for {
			if hwm := vmHWM(status); hwm > peak {
				peak = hwm
			}
			select {
			case <-done:
				sampled <- peak
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	peak := <-sampled
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), `"Status": "COMPLETE"`)
	require.Positive(t, peak, "no VmHWM read from %s", status)
	return peak, dir
}

// vmHWM is the VmHWM line of a /proc status file in bytes, 0 when the
// process is gone.
func vmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

// checkHugeFiles reads table's files back with DuckDB: rows values of
// valueBytes, row i all hex digit i % 16.
func checkHugeFiles(t *testing.T, dir, table string, rows, valueBytes int) {
	files, err := filepath.Glob(filepath.Join(dir, "mem-1", "*", "*."+table, "*", "*.parquet"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no Parquet file of %s", table)
	duck := duckcheck.Open(t)
	got := duck.Rows(`SELECT id, length(body), length(replace(body, left(body, 1), '')), left(body, 1)
		FROM read_parquet(?) ORDER BY id`, files)
	require.Len(t, got, rows)
	for i, r := range got {
		want := fmt.Sprint([]any{int64(i), int64(valueBytes), int64(0), fmt.Sprintf("%x", i%16)})
		require.Equal(t, want, fmt.Sprint(r), "row %d of %s", i, table)
	}
}
