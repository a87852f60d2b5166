package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/testenv"
)

// distEnv is a distributed export's world: the binary, a scratch source
// database shaped like pgbench's, a scratch queue database with River's
// schema, and the password the tests look for in the queue.
type distEnv struct {
	bin, src, srcDB, queue, password string
	env                              []string
}

const distAccounts = 200000

func setupDistributed(t *testing.T) distEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("process tests build the binary and load a database; skipped with -short")
	}
	srcDB, src := scratchPG(t, "snapexport_clid")
	_, queue := scratchPG(t, "snapexport_cliq")
	ctx := context.Background()
	db, err := pgx.Connect(ctx, src)
	require.NoError(t, err)
	defer db.Close(ctx)
	_, err = db.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));
		CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
		CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
		INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, 2) g;
		INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, 20) g;
		INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, g %% 1000 - 500, '' FROM generate_series(1, %d) g;
		ANALYZE;`, distAccounts))
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "snapexport")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	e := distEnv{bin: bin, src: src, srcDB: srcDB, queue: queue, password: "Dist-Secret-" + filepath.Base(t.TempDir()),
		env: append(os.Environ(), "TMPDIR="+t.TempDir())}
	code, _, stderr := e.run(t, "queue", "migrate", "--queue", queue)
	require.Equal(t, exitOK, code, stderr)
	return e
}

func (e distEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

// srcWithPassword is the source URL with the password in it, as a user
// may give --source-arn: the queue must never see it.
func (e distEnv) srcWithPassword() string {
	u, _ := url.Parse(e.src)
	u.User = url.UserPassword(u.User.Username(), e.password)
	return u.String()
}

// startWorker starts a worker process (its password from PGPASSWORD).
func (e distEnv) startWorker(t *testing.T, dest, id string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(e.bin, "worker", "--queue", e.queue, "--source", e.src, "--sink", dest, "--id", id,
		"--heartbeat", "300ms", "--rescue-after", "2s", "--stop-grace", "2s")
	cmd.Env = append(e.env, "PGPASSWORD="+e.password)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.NoError(t, cmd.Start())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return cmd
}

func (e distEnv) export(t *testing.T, id, dest string, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"start-export-task", "--export-task-identifier", id, "--source-arn", e.srcWithPassword(),
		"--s3-bucket-name", dest, "--progress", "none", "--heartbeat-interval", "500ms", "--target-part-bytes", "2097152",
		"--compression", "snappy"}, extra...)
	return e.run(t, args...)
}

// digest is, per table folder, count, key sum and bit_xor(hash(row)).
func digest(t *testing.T, dir, id string) map[string]string {
	t.Helper()
	duck := duckcheck.Open(t)
	out := map[string]string{}
	tables, err := filepath.Glob(filepath.Join(dir, id, "*", "*"))
	require.NoError(t, err)
	for _, tb := range tables {
		files, _ := filepath.Glob(filepath.Join(tb, "*", "*.parquet"))
		if len(files) == 0 {
			continue
		}
		key := strings.TrimPrefix(filepath.Base(tb), "public.pgbench_")[:1] + "id"
		rows := duck.Rows(`SELECT count(*), sum(`+key+`)::VARCHAR, bit_xor(hash(r))::VARCHAR FROM read_parquet(?) r`, filepath.Join(tb, "*", "*.parquet"))
		out[filepath.Base(tb)] = fmt.Sprint(rows[0])
	}
	require.Len(t, out, 3, "pgbench's three tables with rows")
	return out
}

func (e distEnv) queueRows(t *testing.T, q string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.queue)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), q)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// TestDistributedExportProcesses: a coordinator process and three worker
// processes export a pgbench-shaped database with small parts; the output
// equals a single-process export of it (DuckDB: count, key sum, hash of all
// columns per table), every worker ran parts, the tables info lists
// exactly the files present, and no row of the queue database holds the
// source's password. Then one worker is killed with SIGKILL in the middle
// of a second export: the output is identical again.
func TestDistributedExportProcesses(t *testing.T) {
	e := setupDistributed(t)
	ref := t.TempDir()
	code, _, stderr := e.export(t, "ref", "file://"+ref, "--concurrency", "3")
	require.Equal(t, exitOK, code, stderr)
	want := digest(t, ref, "ref")

	dist := t.TempDir()
	for i := range 3 {
		e.startWorker(t, "file://"+dist, fmt.Sprintf("w%d", i))
	}
	code, _, stderr = e.export(t, "dist", "file://"+dist, "--queue", e.queue)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, want, digest(t, dist, "dist"))
	perWorker := e.queueRows(t, `SELECT w || '=' || count(*) FROM (SELECT metadata->'output'->>'worker' AS w FROM river_job
		WHERE state = 'completed' AND args->'spec'->>'TaskID' = 'dist') x GROUP BY w ORDER BY w`)
	t.Logf("parts per worker: %v", perWorker)
	assert.Len(t, perWorker, 3, "every worker ran parts")
	for _, text := range e.queueRows(t, `SELECT t::text FROM river_job t UNION ALL SELECT t::text FROM snapexport_part_key t
		UNION ALL SELECT t::text FROM river_queue t UNION ALL SELECT t::text FROM river_leader t`) {
		assert.NotContains(t, text, e.password)
	}

	// A worker killed mid-part.
	victim := e.startWorker(t, "file://"+dist, "victim")
	done := make(chan struct{})
	var kcode int
	go func() {
		defer close(done)
		kcode, _, stderr = e.export(t, "killed", "file://"+dist, "--queue", e.queue)
	}()
	waitUntil(t, "the victim runs a part", func() bool {
		return len(e.queueRows(t, `SELECT id::text FROM river_job WHERE state = 'running' AND 'victim' = ANY(attempted_by)
			AND args->'spec'->>'TaskID' = 'killed'`)) > 0
	})
	require.NoError(t, victim.Process.Kill())
	<-done
	require.Equal(t, exitOK, kcode, stderr)
	assert.Equal(t, want, digest(t, dist, "killed"))
	rescued := e.queueRows(t, `SELECT id::text FROM river_job WHERE args->'spec'->>'TaskID' = 'killed' AND attempt > 1`)
	assert.NotEmpty(t, rescued, "the victim's part was run again")
}

// TestDistributedBadInput: a queue without River's schema is refused naming
// the command that installs it; a MySQL/MariaDB source is refused unless
// --consistency none; of two coordinators of one identifier exactly one
// runs the task.
func TestDistributedBadInput(t *testing.T) {
	e := setupDistributed(t)
	_, empty := scratchPG(t, "snapexport_cliq")
	code, _, stderr := e.export(t, "noschema", "file://"+t.TempDir(), "--queue", empty)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "snapexport queue migrate")

	code, _, stderr = e.run(t, "start-export-task", "--export-task-identifier", "my", "--source-arn", testenv.MySQLURL(),
		"--s3-bucket-name", "file://"+t.TempDir(), "--queue", e.queue, "--progress", "none")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "--consistency none")

	dest := t.TempDir()
	e.startWorker(t, "file://"+dest, "w")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	errs := make([]string, 2)
	for i := range 2 {
		wg.Go(func() { codes[i], _, errs[i] = e.export(t, "twice", "file://"+dest, "--queue", e.queue) })
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		if c == exitOK {
			ok++
		} else {
			t.Logf("the other coordinator: exit %d: %s", c, strings.TrimSpace(errs[i]))
		}
	}
	assert.Equal(t, 1, ok, "exactly one coordinator runs the task: %v %v", codes, errs)
}

// scratchMariaDB creates a database of its own on the MySQL/MariaDB test
// server, dropped when the test ends, and returns its mysql:// URL.
func scratchMariaDB(t *testing.T, setup ...string) string {
	t.Helper()
	u, err := url.Parse(testenv.MySQLURL())
	require.NoError(t, err)
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer db.Close()
	if err := db.Ping(); err != nil {
		testenv.Unavailable(t, "MariaDB/MySQL", "start a server on 127.0.0.1:3306 or set SNAPEXPORT_MYSQL_URL", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "snapexport_clim_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", cfg.FormatDSN()); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	for _, q := range setup {
		_, err := db.Exec(strings.ReplaceAll(q, "$DB", name))
		require.NoError(t, err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestDistributedMariaDBConsistencyNone: a MariaDB source, which cannot
// share a snapshot, is exported through the queue with --consistency none:
// each part reads its own point in time (on a database nobody writes, the
// same rows as one process); the worker's source fingerprint (server_id,
// hostname and database) matches the coordinator's.
func TestDistributedMariaDBConsistencyNone(t *testing.T) {
	e := setupDistributed(t)
	src := scratchMariaDB(t,
		"CREATE TABLE $DB.items (id int PRIMARY KEY, v varchar(40))",
		"CREATE TABLE $DB.d (n int)",
		"INSERT INTO $DB.d VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
		"INSERT INTO $DB.items SELECT 1 + a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n, md5(a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n) "+
			"FROM $DB.d a, $DB.d b, $DB.d c, $DB.d e, $DB.d f WHERE f.n < 5",
		"DROP TABLE $DB.d", "ANALYZE TABLE $DB.items")
	dest := t.TempDir()
	w := exec.Command(e.bin, "worker", "--queue", e.queue, "--source", src, "--sink", "file://"+dest, "--id", "mw",
		"--heartbeat", "300ms", "--rescue-after", "2s", "--stop-grace", "2s", "--concurrency", "2")
	w.Env = e.env
	require.NoError(t, w.Start())
	t.Cleanup(func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() })
	code, stdout, stderr := e.run(t, "start-export-task", "--export-task-identifier", "maria", "--source-arn", src,
		"--s3-bucket-name", "file://"+dest, "--queue", e.queue, "--consistency", "none", "--progress", "none",
		"--target-part-bytes", "1048576")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "each part reads its own point in time")
	assert.Contains(t, stdout, `"ExportedRows": 50000`)
	assert.Contains(t, stdout, `"Consistency": "none"`, "the task record says each part read its own point in time")
	assert.Contains(t, stdout, "NO_SHARED_SNAPSHOT")
	duck := duckcheck.Open(t)
	got := duck.Rows(`SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet(?)`, filepath.Join(dest, "maria", "*", "*", "*", "*.parquet"))
	assert.Equal(t, "[50000 50000 1250025000]", fmt.Sprint(got[0]))
	parts := e.queueRows(t, `SELECT id::text FROM river_job WHERE args->'spec'->>'TaskID' = 'maria' AND state = 'completed'`)
	t.Logf("%d parts through the queue", len(parts))
	assert.Greater(t, len(parts), 1, "several parts, each on its own snapshot")
}
