package snapexport_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/testenv"
	_ "github.com/snapexport/snapexport/source/mysqlsource"
	_ "github.com/snapexport/snapexport/source/pgsource"
)

// These tests change a table's definition after the task planned it and
// while the task reads other tables: the export must either read the table
// as of its snapshot or fail with a cause naming the table (and the range
// being read), never hang behind the DDL, never publish half of a table,
// and never leave the DDL waiting once the task ended.

// ddlTask runs one export of the listed tables, calling onStart once when
// the task is IN_PROGRESS (after planning; with one worker, before it reads
// the second table), and returns the record and the output directory.
func ddlTask(t *testing.T, sourceArn string, concurrency int, exportOnly []string, onStart func()) (snapexport.ExportTask, string) {
	t.Helper()
	out := t.TempDir()
	exp, err := snapexport.New(snapexport.Config{})
	require.NoError(t, err)
	defer exp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var once sync.Once
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: fmt.Sprintf("ddl-%d", time.Now().UnixNano()%1e9),
		SourceArn:            sourceArn,
		S3BucketName:         "file://" + out,
		ExportOnly:           exportOnly,
		Options: &snapexport.TaskOptions{Concurrency: concurrency, OnEvent: func(ev snapexport.Event) {
			if ev.Task.Status == snapexport.StatusInProgress {
				once.Do(onStart)
			}
		}},
	})
	require.NoError(t, err)
	rec, _ := task.Wait(ctx)
	require.NoError(t, ctx.Err(), "the task did not end within 3 minutes: it hangs behind the DDL")
	return rec, filepath.Join(out, rec.ExportTaskIdentifier)
}

// filesUnder lists the files below dir (none when it does not exist).
func filesUnder(dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	return files
}

// TestPostgresTableAlteredAfterPlanning: the task holds ACCESS SHARE locks
// on the tables it listed (as pg_dump does), so an ALTER TABLE waits; a
// scan that would queue behind that ALTER fails after the driver's lock
// timeout with a cause naming the table and its range, the table's files
// stay invisible, and the ALTER goes through once the task ended.
func TestPostgresTableAlteredAfterPlanning(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	// Closed after the cleanup below drops the schema (cleanups run last
	// first; a deferred Close would run before them).
	t.Cleanup(func() { admin.Close(context.Background()) })
	schema := fmt.Sprintf("ddl_%d", time.Now().UnixNano()%1e9)
	for _, q := range []string{
		"CREATE SCHEMA " + schema,
		// big is read first (largest first) while the ALTER of small queues.
		"CREATE TABLE " + schema + ".big (id bigint PRIMARY KEY, pad text)",
		"INSERT INTO " + schema + ".big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 100000) g",
		"CREATE TABLE " + schema + ".small (id bigint PRIMARY KEY, v text)",
		"INSERT INTO " + schema + ".small SELECT g, 'v' FROM generate_series(1, 100) g",
		"ANALYZE " + schema + ".big", "ANALYZE " + schema + ".small",
	} {
		_, err := admin.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop the test schema: %v", err)
		}
	})

	alterer, err := pgx.Connect(ctx, testenv.PostgresURL())
	require.NoError(t, err)
	defer alterer.Close(ctx)
	altered := make(chan error, 1)
	rec, dir := ddlTask(t, testenv.PostgresURL(), 1, []string{"test." + schema}, func() {
		go func() {
			_, err := alterer.Exec(ctx, "ALTER TABLE "+schema+".small ADD COLUMN added int")
			altered <- err
		}()
		// Return once the ALTER waits for the task's lock, so the scan of
		// small starts behind it.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var waiting int
			admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass`, schema+".small").Scan(&waiting)
			if waiting > 0 {
				return
			}
		}
		t.Error("the ALTER TABLE never queued behind the task's lock")
	})
	require.Equal(t, snapexport.StatusFailed, rec.Status, "cause: %s", rec.FailureCause)
	assert.Contains(t, rec.FailureCause, "test."+schema+".small")
	assert.Contains(t, rec.FailureCause, "exclusive lock", "the cause says the table is being altered")
	assert.Empty(t, filesUnder(filepath.Join(dir, "test", schema+".small")), "files of the failed table are visible")
	select {
	case err := <-altered:
		require.NoError(t, err, "the ALTER TABLE after the task")
	case <-time.After(30 * time.Second):
		t.Fatal("the ALTER TABLE still waits after the task ended: the task kept its lock")
	}
}

// TestMariaDBTableDroppedOrAlteredAfterPlanning: MariaDB's snapshot does
// not cover the data dictionary. A table dropped or altered after planning,
// before a snapshot connection touched it, can no longer be read as of the
// snapshot: the task fails naming it, and nothing of it is visible. A table
// a snapshot connection has touched is protected by its metadata lock: the
// ALTER waits, the task reads the table as of the snapshot and completes,
// and the ALTER goes through afterwards.
func TestMariaDBTableDroppedOrAlteredAfterPlanning(t *testing.T) {
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(mysqlDSN(testenv.MySQLURL()))
	require.NoError(t, err)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() }) // after the DROP below
	if err := admin.PingContext(ctx); err != nil {
		testenv.Unavailable(t, "MariaDB", "start it or set SNAPEXPORT_MYSQL_URL", err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	big, keyless, keyed := "ddl_zbig_"+suffix, "ddl_keyless_"+suffix, "ddl_keyed_"+suffix
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			_, err := admin.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
	}
	exec("CREATE TABLE "+big+" (id BIGINT NOT NULL PRIMARY KEY, pad CHAR(200)) ENGINE=InnoDB",
		"INSERT INTO "+big+" SELECT seq, MD5(seq) FROM seq_1_to_100000",
		// No key: planning does not read it on a snapshot connection.
		"CREATE TABLE "+keyless+" (v INT) ENGINE=InnoDB",
		"INSERT INTO "+keyless+" SELECT seq FROM seq_1_to_100",
		// An integer key: planning reads its bounds on the snapshot
		// connection, which then holds the table's metadata lock.
		"CREATE TABLE "+keyed+" (id INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB",
		"INSERT INTO "+keyed+" SELECT seq, seq FROM seq_1_to_100",
		"ANALYZE TABLE "+big+", "+keyless+", "+keyed)
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP TABLE IF EXISTS " + big + ", " + keyless + ", " + keyed); err != nil {
			t.Errorf("drop the test tables: %v", err)
		}
	})

	for _, c := range []struct {
		name, ddl string
		want      snapexport.Status
	}{
		{"Drop", "DROP TABLE %s", snapexport.StatusFailed},
		// A rebuild gives the table a new definition the snapshot cannot
		// read ("Table definition has changed").
		{"Rebuild", "ALTER TABLE %s MODIFY v BIGINT", snapexport.StatusFailed},
		// An instant ADD COLUMN leaves the rows as they were: the
		// snapshot's rows are read, with the columns planned.
		{"InstantAddColumn", "ALTER TABLE %s ADD COLUMN added INT, ALGORITHM=INSTANT", snapexport.StatusComplete},
	} {
		t.Run(c.name, func(t *testing.T) {
			exec("DROP TABLE IF EXISTS "+keyless, "CREATE TABLE "+keyless+" (v INT) ENGINE=InnoDB",
				"INSERT INTO "+keyless+" SELECT seq FROM seq_1_to_100")
			rec, dir := ddlTask(t, testenv.MySQLURL(), 1, []string{"test." + big, "test." + keyless}, func() {
				exec(fmt.Sprintf(c.ddl, keyless))
			})
			require.Equal(t, c.want, rec.Status, "cause: %s", rec.FailureCause)
			files := filesUnder(filepath.Join(dir, "test", "test."+keyless))
			if c.want == snapexport.StatusFailed {
				assert.Contains(t, rec.FailureCause, "test."+keyless)
				assert.Contains(t, rec.FailureCause, "after the export's snapshot was taken")
				assert.Empty(t, files, "files of the failed table are visible")
				return
			}
			require.Len(t, files, 1)
			duck := duckcheck.Open(t)
			assert.Equal(t, []any{int64(100), float64(5050)}, duck.Rows("SELECT count(*), sum(v)::DOUBLE FROM '" + files[0] + "'")[0])
			schema := duck.Schema(files[0])
			require.Len(t, schema, 1, "the columns planned")
			assert.Equal(t, "v", schema[0].Name)
		})
	}

	// With one snapshot connection, the one that read the key's bounds
	// while planning reads the table too. With two, the other may read it:
	// its read queues behind the waiting ALTER, which waits for the first
	// connection; it must give up (naming the table and the DDL) instead of
	// hanging until the server's lock wait timeout of a day.
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("LockedByTheSnapshot/workers=%d", workers), func(t *testing.T) {
			exec("DROP TABLE IF EXISTS "+keyed, "CREATE TABLE "+keyed+" (id INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB",
				"INSERT INTO "+keyed+" SELECT seq, seq FROM seq_1_to_100")
			alterer, err := sql.Open("mysql", cfg.FormatDSN())
			require.NoError(t, err)
			defer alterer.Close()
			altered := make(chan error, 1)
			rec, dir := ddlTask(t, testenv.MySQLURL(), workers, []string{"test." + big, "test." + keyed}, func() {
				go func() {
					_, err := alterer.ExecContext(ctx, "ALTER TABLE "+keyed+" ADD COLUMN added INT")
					altered <- err
				}()
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					var waiting int
					admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST
					WHERE STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE ?`, "ALTER TABLE "+keyed+"%").Scan(&waiting)
					if waiting > 0 {
						return
					}
				}
				t.Error("the ALTER TABLE never waited for the task's metadata lock")
			})
			files := filesUnder(filepath.Join(dir, "test", "test."+keyed))
			if workers == 1 || rec.Status == snapexport.StatusComplete {
				require.Equal(t, snapexport.StatusComplete, rec.Status, "cause: %s", rec.FailureCause)
				require.Len(t, files, 1)
				duck := duckcheck.Open(t)
				assert.Equal(t, []any{int64(100), float64(5050)}, duck.Rows("SELECT count(*), sum(v)::DOUBLE FROM '" + files[0] + "'")[0])
				assert.Len(t, duck.Schema(files[0]), 2, "the columns as of the snapshot")
			} else {
				require.Equal(t, snapexport.StatusFailed, rec.Status)
				assert.Contains(t, rec.FailureCause, "test."+keyed)
				assert.Contains(t, rec.FailureCause, "waits for the metadata lock the export holds")
				assert.Empty(t, files, "files of the failed table are visible")
			}
			t.Logf("%s: %s", rec.Status, rec.FailureCause)
			select {
			case err := <-altered:
				require.NoError(t, err, "the ALTER TABLE after the task")
			case <-time.After(30 * time.Second):
				t.Fatal("the ALTER TABLE still waits after the task ended")
			}
		})
	}
}

// mysqlDSN turns the test URL mysql://user[:pass]@host:port/db into a DSN.
func mysqlDSN(url string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(url, "mysql://"), "mariadb://")
	userinfo, hostpath, _ := strings.Cut(rest, "@")
	hostport, db, _ := strings.Cut(hostpath, "/")
	db, _, _ = strings.Cut(db, "?")
	return userinfo + "@tcp(" + hostport + ")/" + db
}
