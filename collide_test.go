package snapexport_test

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink/dirsink"
)

// TestPostgresCollidingNamesKeepTheirOwnFolders: tables whose folders are
// one after RDS's sanitising ("with space" and with_space; "x.y".z and
// x."y.z") each get a folder of their own and a KEY_COLLISION warning, so
// every folder holds exactly its table's rows. The old code put both
// tables' files in one folder (and a resume deleted the finished one's).
func TestPostgresCollidingNamesKeepTheirOwnFolders(t *testing.T) {
	ctx := context.Background()
	const db = "snapexport_own_collide"
	u := pgDatabase(t, db)
	conn, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	rows := map[string]int{`s."with space"`: 30, `s.with_space`: 20, `"x.y".z`: 10, `x."y.z"`: 5}
	for _, q := range []string{`CREATE SCHEMA s`, `CREATE SCHEMA "x.y"`, `CREATE SCHEMA x`} {
		_, err := conn.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	for name, n := range rows {
		_, err := conn.Exec(ctx, "CREATE TABLE "+name+" (id int PRIMARY KEY, v text); INSERT INTO "+name+" SELECT g, 'v' FROM generate_series(1, $1::int) g", n)
		if err != nil { // multi-statement with parameters is refused: two calls
			_, err = conn.Exec(ctx, "CREATE TABLE "+name+" (id int PRIMARY KEY, v text)")
			require.NoError(t, err)
			_, err = conn.Exec(ctx, "INSERT INTO "+name+" SELECT g, 'v' FROM generate_series(1, $1::int) g", n)
			require.NoError(t, err)
		}
	}
	conn.Close(ctx)

	dir := t.TempDir()
	store, err := dirsink.Open(dir, nil)
	require.NoError(t, err)
	defer store.Close()
	exp := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{ExportTaskIdentifier: "own-collide", SourceArn: u, Sink: store,
		ExportOnly: []string{db}})
	require.NoError(t, err)
	rec := waitComplete(t, task)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	require.NoError(t, err)
	clashes := 0
	for _, e := range w.General {
		if e.Reason == snapexport.ReasonKeyCollision {
			clashes++
		}
	}
	assert.Equal(t, 2, clashes, rec.WarningMessage)

	folders := map[string]string{}
	duck := duckdb(t)
	ti := listTablesInfo(t, store, "own-collide")
	require.Len(t, ti, 4) // two of them have one target: "x.y".z and x."y.z" are both db.x.y.z
	total := int64(0)
	for _, ts := range ti {
		target := ts.Target
		require.NotEmpty(t, ts.TableStatistics.Files, target)
		folder := path.Dir(path.Dir(ts.TableStatistics.Files[0]))
		if other, dup := folders[folder]; dup {
			t.Errorf("%s and %s share the folder %s", target, other, folder)
		}
		folders[folder] = target
		n := duck.Int("SELECT count(*) FROM read_parquet(?)", filepath.Join(dir, folder, "*", "*.parquet"))
		assert.Equal(t, ts.TableStatistics.ExportedRows, n, "%s: its folder holds its rows only", target)
		total += n
	}
	assert.Equal(t, int64(65), total)
}

// pgDatabase creates a database of its own on the test server, dropped
// when the test ends, and returns its URL.
func pgDatabase(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+db)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	u := strings.Replace(testenv.PostgresURL(), "/test?", "/"+db+"?", 1)
	require.Contains(t, u, db, "SNAPEXPORT_PG_URL must end in /test?...")
	return u
}
