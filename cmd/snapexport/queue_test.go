package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/internal/testenv"
)

// scratchPG creates a database of its own on the test server for one
// test, dropped when it ends, and returns its URL.
func scratchPG(t *testing.T, prefix string) (name, rawURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	name = prefix + "_" + hex.EncodeToString(b)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, testenv.PostgresURL()); err == nil {
			_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			assert.NoError(t, err)
			c.Close(ctx)
		}
	})
	u, err := url.Parse(testenv.PostgresURL())
	require.NoError(t, err)
	u.Path = "/" + name
	return name, u.String()
}

// TestQueueMigrate: `queue migrate` installs River's schema (twice is
// fine: nothing left to apply); a worker on a queue database without it
// fails naming that command, and one on an unreachable queue says so.
func TestQueueMigrate(t *testing.T) {
	ctx := context.Background()
	_, queue := scratchPG(t, "snapexport_cliq")
	_, src := scratchPG(t, "snapexport_clis")
	dest := "file://" + t.TempDir()

	code, _, stderr := runCLI(ctx, "worker", "--queue", queue, "--source", src, "--sink", dest)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "snapexport queue migrate")

	code, stdout, stderr := runCLI(ctx, "queue", "migrate", "--queue", queue)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"AppliedRiverMigrations": [`)
	code, stdout, stderr = runCLI(ctx, "queue", "migrate", "--queue", queue)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"AppliedRiverMigrations": null`)

	code, _, stderr = runCLI(ctx, "worker", "--queue", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "--source", src, "--sink", dest)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "unreachable")

	code, _, stderr = runCLI(ctx, "worker", "--queue", queue, "--source", src)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--sink")
	code, _, stderr = runCLI(ctx, "worker", "--queue", queue, "--source", src, "--sink", dest, "--rescue-after", "1s", "--heartbeat", "1s")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "twice")
}
