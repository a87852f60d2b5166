package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/testenv"
)

// The secrets tests export with dedicated roles that have a password,
// through the binary, and grep everything a user or another user of the
// machine can see for the password: stdout, stderr, the background
// process's log, command line and environment, and every object in the
// destination. The roles and databases carry the helper's name ("cli") and
// are dropped when the test ends.

const (
	secretRole = "snapexport_cli_secret"
	secretDB   = "snapexport_cli_secret"
)

// newSecret is a password with characters a URL must escape, unique per run.
func newSecret(t *testing.T) string {
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return "S3cr3t-P@ss:" + hex.EncodeToString(b[:])
}

// secretForms are the ways a password can show up in text.
func secretForms(pw string) []string {
	return []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:], strings.SplitN(pw, ":", 2)[1]}
}

func assertNoSecret(t *testing.T, pw, what, text string) {
	t.Helper()
	for _, f := range secretForms(pw) {
		if strings.Contains(text, f) {
			t.Errorf("%s holds the password (%q):\n%s", what, f, text)
		}
	}
}

// assertTreeHasNoSecret greps every file under dir.
func assertTreeHasNoSecret(t *testing.T, pw, dir string) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assertNoSecret(t, pw, path, string(b))
		n++
		return nil
	}))
	return n
}

// buildCLI builds the binary once per test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "snapexport")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// runBin runs the binary with env, returning its exit code and output.
func runBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

// pgWithURL returns testenv's PostgreSQL URL with another user, password
// and database.
func pgWithURL(t *testing.T, user, pw, db string) string {
	u, err := url.Parse(testenv.PostgresURL())
	require.NoError(t, err)
	u.User = url.UserPassword(user, pw)
	u.Path = "/" + db
	return u.String()
}

// pgSecretSetup creates a database with a small table and a role with a
// password that may read it; both are dropped when the test ends.
func pgSecretSetup(t *testing.T, pw string) string {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	defer admin.Close(ctx)
	drop := func() {
		c, err := pgx.Connect(ctx, testenv.PostgresURL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+secretDB+" WITH (FORCE)")
		_, _ = c.Exec(ctx, "DROP ROLE IF EXISTS "+secretRole)
	}
	drop()
	t.Cleanup(drop)
	_, err = admin.Exec(ctx, "CREATE ROLE "+secretRole+" LOGIN PASSWORD '"+pw+"'")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+secretDB+" OWNER "+secretRole)
	require.NoError(t, err)
	db, err := pgx.Connect(ctx, pgWithURL(t, "postgres", "", secretDB))
	require.NoError(t, err)
	defer db.Close(ctx)
	_, err = db.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text);
		INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
		ALTER TABLE public.items OWNER TO `+secretRole)
	require.NoError(t, err)
	return pgWithURL(t, secretRole, pw, secretDB)
}

// TestNoWaitKeepsSecretsOffTheCommandLine starts a background export whose
// source URL holds a password and reads the background process's command
// line and environment while it runs, and the mode of its log: the
// password must be on neither, and the log only the user's.
func TestNoWaitKeepsSecretsOffTheCommandLine(t *testing.T) {
	c := setupCLI(t) // tables big enough that the export runs for seconds
	pw := newSecret(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.pgURL)
	require.NoError(t, err)
	defer admin.Close(ctx)
	role := secretRole + "_bg"
	drop := func() { // on a connection of its own: admin is closed when cleanups run
		conn, err := pgx.Connect(ctx, c.pgURL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	}
	drop()
	t.Cleanup(drop)
	_, err = admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+pw+"'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role)
	require.NoError(t, err)
	srcURL := pgWithURL(t, role, pw, cliDB)

	code, stdout, stderr := c.run(t, "start-export-task", "--export-task-identifier", "cli-secret-bg", "--source-arn", srcURL,
		"--s3-bucket-name", c.dest(), "--concurrency", "1", "--heartbeat-interval", "300ms", "--no-wait")
	require.Equal(t, 0, code, stderr)
	m := pidPattern.FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	cmdline, err := os.ReadFile("/proc/" + m[1] + "/cmdline")
	require.NoError(t, err, "the background export ended before its command line could be read")
	environ, err := os.ReadFile("/proc/" + m[1] + "/environ")
	require.NoError(t, err)
	assert.Contains(t, string(cmdline), "cli-secret-bg", "ps still names the task")
	assertNoSecret(t, pw, "the background process's command line", strings.ReplaceAll(string(cmdline), "\x00", " "))
	assertNoSecret(t, pw, "the background process's environment", string(environ))
	assertNoSecret(t, pw, "stdout", stdout)
	assertNoSecret(t, pw, "stderr", stderr)

	lm := logPattern.FindStringSubmatch(stderr)
	require.NotNil(t, lm, stderr)
	st, err := os.Stat(lm[1])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the log is the user's alone")
	dir, err := os.Stat(filepath.Dir(lm[1]))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dir.Mode().Perm(), "in a private directory")

	code, _, stderr = c.run(t, "cancel-export-task", "--export-task-identifier", "cli-secret-bg", "--s3-bucket-name", c.dest())
	require.Equal(t, 0, code, stderr)
	deadline := time.Now().Add(time.Minute)
	for c.describe(t, "cli-secret-bg").Status != snapexport.StatusCanceled {
		require.True(t, time.Now().Before(deadline), "the background export did not stop")
		time.Sleep(100 * time.Millisecond)
	}
	var pid int
	pid, _ = strconv.Atoi(m[1])
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	log, err := os.ReadFile(lm[1])
	require.NoError(t, err)
	assertNoSecret(t, pw, "the background process's log", string(log))
	assert.NotZero(t, assertTreeHasNoSecret(t, pw, c.download(t, "cli-secret-bg/")))
}

// TestNoSecretInAnyOutput exports through the binary with PostgreSQL and
// MariaDB roles that have a password: a complete export in the background
// and one in the foreground, and failing ones whose server error echoes the
// password (it is the database's name). Nothing the user or the destination
// gets holds the password.
func TestNoSecretInAnyOutput(t *testing.T) {
	bin := buildCLI(t)
	pw := newSecret(t)
	env := append(os.Environ(), "TMPDIR="+t.TempDir())
	check := func(t *testing.T, srcURL, badURL, nameColumn string) {
		dest := t.TempDir()
		code, stdout, stderr := runBin(t, bin, env, "start-export-task", "--export-task-identifier", "cli-secret-fg",
			"--source-arn", srcURL, "--s3-bucket-name", "file://"+dest, "--progress", "lines")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `"COMPLETE"`)
		assertNoSecret(t, pw, "stdout", stdout)
		assertNoSecret(t, pw, "stderr", stderr)

		code, stdout, stderr = runBin(t, bin, env, "start-export-task", "--export-task-identifier", "cli-secret-nw",
			"--source-arn", srcURL, "--s3-bucket-name", "file://"+dest, "--no-wait", "--heartbeat-interval", "200ms")
		require.Equal(t, 0, code, stderr)
		assertNoSecret(t, pw, "stdout", stdout)
		assertNoSecret(t, pw, "stderr", stderr)
		lm := logPattern.FindStringSubmatch(stderr)
		require.NotNil(t, lm, stderr)
		deadline := time.Now().Add(time.Minute)
		for {
			code, stdout, stderr = runBin(t, bin, env, "describe-export-tasks", "--s3-bucket-name", "file://"+dest)
			require.Equal(t, 0, code, stderr)
			assertNoSecret(t, pw, "describe", stdout+stderr)
			if strings.Count(stdout, `"COMPLETE"`) == 2 {
				break
			}
			require.True(t, time.Now().Before(deadline), stdout)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // the background process prints its last line and exits
		log, err := os.ReadFile(lm[1])
		require.NoError(t, err)
		assert.Contains(t, string(log), "COMPLETE")
		assertNoSecret(t, pw, "the background log", string(log))
		assert.Greater(t, assertTreeHasNoSecret(t, pw, dest), 4, "records and data files")

		code, stdout, stderr = runBin(t, bin, env, "start-export-task", "--export-task-identifier", "cli-secret-bad",
			"--source-arn", badURL, "--s3-bucket-name", "file://"+t.TempDir())
		assert.Equal(t, exitFailed, code)
		assert.Contains(t, stderr, "xxxxx", "the message says where the secret was")
		assertNoSecret(t, pw, "stdout of a failed start", stdout)
		assertNoSecret(t, pw, "stderr of a failed start", stderr)

		// An override the column's type cannot become is refused when the
		// task is planned, before any table is read (TablesTotal 0: the
		// task never went IN_PROGRESS), not when the table's scan starts.
		code, stdout, stderr = runBin(t, bin, env, "start-export-task", "--export-task-identifier", "cli-bad-override",
			"--source-arn", srcURL, "--s3-bucket-name", "file://"+t.TempDir(), "--progress", "none", "--type-override", nameColumn+"=timestamp_millis")
		assert.Equal(t, exitFailed, code, stderr)
		assert.Contains(t, stdout, "cannot be written as timestamp_millis") // typemap refuses it while mapping the columns
		assert.Contains(t, stdout, `"TablesTotal": 0,`)
		assertNoSecret(t, pw, "a refused override", stdout+stderr)
	}

	t.Run("postgres", func(t *testing.T) {
		srcURL := pgSecretSetup(t, pw)
		// The server answers `database "<password>" does not exist`.
		check(t, srcURL, pgWithURL(t, secretRole, pw, pw), secretDB+".public.items.name")
	})
	t.Run("mariadb", func(t *testing.T) {
		srcURL := mysqlSecretSetup(t, pw)
		u, _ := url.Parse(srcURL)
		u.Path = "/" + pw // "Access denied for user … to database '<password>'"
		check(t, srcURL, u.String(), secretDB+"."+secretDB+".items.name")
	})
}

// mysqlSecretSetup creates a database with a small table and a user with a
// password that may read it; both are dropped when the test ends.
func mysqlSecretSetup(t *testing.T, pw string) string {
	u, err := url.Parse(testenv.MySQLURL())
	require.NoError(t, err)
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.MultiStatements = true
	cfg.Timeout = 5 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		testenv.Unavailable(t, "MariaDB/MySQL", "start a server on 127.0.0.1:3306 or set SNAPEXPORT_MYSQL_URL", err)
	}
	drop := func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + secretDB)
		_, _ = db.Exec("DROP USER IF EXISTS '" + secretRole + "'@'%'")
	}
	drop()
	t.Cleanup(drop)
	_, err = db.Exec("CREATE DATABASE " + secretDB + `;
		USE ` + secretDB + `;
		CREATE TABLE ` + secretDB + `.items (id bigint PRIMARY KEY, name varchar(40));
		INSERT INTO ` + secretDB + `.items SELECT seq, concat('item ', seq) FROM seq_1_to_500;
		CREATE USER '` + secretRole + `'@'%' IDENTIFIED BY '` + pw + `';
		GRANT SELECT, SHOW VIEW ON ` + secretDB + `.* TO '` + secretRole + `'@'%'`)
	require.NoError(t, err)
	return (&url.URL{Scheme: "mysql", User: url.UserPassword(secretRole, pw), Host: u.Host, Path: "/" + secretDB}).String()
}

// The process tests' database (setupCLI) is dropped when the package's
// tests are done, so the suite leaves nothing on the shared server.
func init() {
	testenv.AtExit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, testenv.PostgresURL()); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+cliDB+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
}
