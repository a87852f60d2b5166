package snapexport_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink/memsink"
)

// TestPostgresSourceUnchangedPerDatabase: a resume judges unchanged-ness
// by the exported database alone. Writes to another database of the server
// (which move the cluster's WAL position and transaction ids, what the old
// code compared) leave SourceUnchanged true; a write to the exported
// database makes it false and puts a MIXED_SNAPSHOTS general warning on
// the COMPLETE record.
func TestPostgresSourceUnchangedPerDatabase(t *testing.T) {
	ctx := context.Background()
	const db = "snapexport_own_unchanged"
	u := pgDatabase(t, db)
	exec := func(url string, qs ...string) {
		t.Helper()
		c, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		defer c.Close(ctx) // a backend that exits reports its counters
		for _, q := range qs {
			_, err := c.Exec(ctx, q)
			require.NoError(t, err, q)
		}
	}
	// No autovacuum: its ANALYZE writes pg_statistic rows, a change.
	exec(u,
		"CREATE TABLE a (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)",
		"INSERT INTO a SELECT g, 'v' FROM generate_series(1, 100) g",
		"CREATE TABLE b (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)",
		"INSERT INTO b VALUES (1, repeat('x', 5000))",
		"ANALYZE a", "ANALYZE b")

	judgeUnchanged(t, u, db, "own-unchanged-pg",
		func() {
			exec(testenv.PostgresURL(), "CREATE TEMP TABLE own_elsewhere (i int)", "INSERT INTO own_elsewhere SELECT generate_series(1, 100)")
		},
		func() { exec(u, "INSERT INTO a VALUES (1000, 'new')") })
}

// TestMariaDBSourceUnchangedPerDatabase is the same on MariaDB, where the
// data version is the tables' latest UPDATE_TIME read under the snapshot's
// lock (the old code compared the server-wide binary log position).
func TestMariaDBSourceUnchangedPerDatabase(t *testing.T) {
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(mysqlDSN(testenv.MySQLURL()))
	require.NoError(t, err)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	if err := admin.PingContext(ctx); err != nil {
		testenv.Unavailable(t, "MariaDB", "start it or set SNAPEXPORT_MYSQL_URL", err)
	}
	const db, other = "own_unchanged", "own_unchanged_other"
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			_, err := admin.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
	}
	exec("DROP DATABASE IF EXISTS "+db, "DROP DATABASE IF EXISTS "+other, "CREATE DATABASE "+db, "CREATE DATABASE "+other,
		"CREATE TABLE "+db+".a (id int PRIMARY KEY, v text) ENGINE=InnoDB",
		"INSERT INTO "+db+".a SELECT seq, 'v' FROM seq_1_to_100",
		"CREATE TABLE "+db+".b (id int PRIMARY KEY, v text) ENGINE=InnoDB",
		"INSERT INTO "+db+".b VALUES (1, REPEAT('x', 5000))",
		"CREATE TABLE "+other+".c (i int) ENGINE=InnoDB")
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db)
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+other)
	})
	time.Sleep(1100 * time.Millisecond) // the setup's writes are in an earlier second than the snapshot
	// The URL names the database it exports (its database is the scope).
	mu, err := url.Parse(testenv.MySQLURL())
	require.NoError(t, err)
	mu.Path = "/" + db
	u := mu.String()
	judgeUnchanged(t, u, db, "own-unchanged-my",
		func() { exec("INSERT INTO " + other + ".c VALUES (1)") },
		func() { exec("INSERT INTO " + db + ".a VALUES (1000, 'new')") })
}

// judgeUnchanged fails a task on db (table b's value is over the limit),
// writes to another database, resumes it (SourceUnchanged must be true),
// then does the same with a write to db itself between the runs
// (SourceUnchanged false, MIXED_SNAPSHOTS warning).
func judgeUnchanged(t *testing.T, u, db, id string, writeElsewhere, writeHere func()) {
	ctx := context.Background()
	mem := memsink.New("")
	exp := newExporter(t)
	failThenResume := func(id string, between func()) snapexport.ExportTask {
		t.Helper()
		task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: id, SourceArn: u, Sink: mem,
			ExportOnly: []string{db}, Options: &snapexport.TaskOptions{MaxValueBytes: 1000}})
		require.NoError(t, err)
		rec, err := task.Wait(ctx)
		require.Error(t, err, "b's value is over the limit")
		require.Equal(t, snapexport.StatusFailed, rec.Status)
		between()
		task, err = exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: id, SourceArn: u, Sink: mem,
			ExportOnly: []string{db}, Resume: true})
		require.NoError(t, err)
		rec = waitComplete(t, task)
		require.NotNil(t, rec.ResumedFrom)
		require.Equal(t, 1, rec.ResumedFrom.PartitionsKept, "a is kept")
		return rec
	}

	rec := failThenResume(id+"-1", writeElsewhere)
	assert.True(t, rec.ResumedFrom.SourceUnchanged, "writes to another database do not change this one: %v vs %v", rec.ResumedFrom.SnapshotIdentity, rec.SnapshotIdentity)
	assert.NotContains(t, rec.WarningMessage, snapexport.ReasonMixedSnapshots)

	rec = failThenResume(id+"-2", writeHere)
	assert.False(t, rec.ResumedFrom.SourceUnchanged)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	require.NoError(t, err)
	mixed := 0
	for _, e := range w.General {
		if e.Reason == snapexport.ReasonMixedSnapshots {
			mixed++
		}
	}
	assert.Equal(t, 1, mixed, "a resume that mixes two snapshots says so: %s", rec.WarningMessage)
}
