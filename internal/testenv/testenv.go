// Package testenv finds the real servers integration tests run against, and
// decides what happens when one is missing: the test is skipped with a
// message that says how to provide it, or fails when
// SNAPEXPORT_REQUIRE_INTEGRATION=1 (CI sets it, so a missing server can never
// turn into a silently green run).
//
// # Servers
//
//   - PostgreSQL: SNAPEXPORT_PG_URL, default postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//   - MariaDB/MySQL: SNAPEXPORT_MYSQL_URL, default mysql://root@127.0.0.1:3306/test
//   - S3: see S3 in s3.go.
package testenv

import (
	"os"
	"sync"
	"testing"
)

// Required reports whether missing servers fail tests instead of skipping
// them.
func Required() bool { return os.Getenv("SNAPEXPORT_REQUIRE_INTEGRATION") == "1" }

// Unavailable skips t, or fails it when integration is required, with a
// message naming the missing service and how to start it.
func Unavailable(t testing.TB, service, howToFix string, err error) {
	t.Helper()
	msg := service + " is not available (" + errString(err) + "); " + howToFix
	if Required() {
		t.Fatalf("SNAPEXPORT_REQUIRE_INTEGRATION=1 and %s", msg)
	}
	t.Skip(msg)
}

func errString(err error) string {
	if err == nil {
		return "not configured"
	}
	return err.Error()
}

// PostgresURL is the URL of the test PostgreSQL server.
func PostgresURL() string {
	return getenv("SNAPEXPORT_PG_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// MySQLURL is the URL of the test MariaDB/MySQL server.
func MySQLURL() string {
	return getenv("SNAPEXPORT_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var atExit struct {
	mu sync.Mutex
	fs []func()
}

// AtExit registers f to run once the package's tests are done, from
// [Main] or [RunWithS3]: the place to drop a database the package's
// tests share on a server, so the suite leaves nothing behind. Functions
// run in reverse order of registration.
func AtExit(f func()) {
	atExit.mu.Lock()
	atExit.fs = append(atExit.fs, f)
	atExit.mu.Unlock()
}

// RunAtExit runs and forgets the functions registered with [AtExit]; a
// package with a TestMain of its own calls it after m.Run.
func RunAtExit() {
	atExit.mu.Lock()
	fs := atExit.fs
	atExit.fs = nil
	atExit.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Main runs the package's tests and then the [AtExit] functions, and exits
// with the tests' status:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	RunAtExit()
	os.Exit(code)
}
