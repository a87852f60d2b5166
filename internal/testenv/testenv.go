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
