package mysqlsource

import (
	"context"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source"
)

// TestFingerprint: two Sources on the same database of the same server
// have one fingerprint, built on the server's own identity (server_uuid on
// MySQL, server_id and hostname on MariaDB); a Source on another database
// has another; none holds the user or the port. MySQL and MariaDB join no
// snapshot of another session: the Source is no source.Joiner.
func TestFingerprint(t *testing.T) {
	ctx := context.Background()
	a, b := openTestSource(t, Options{}), openTestSource(t, Options{})
	fa, err := a.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := b.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "server_uuid="
	if a.Engine() == "mariadb" {
		want = "server_id="
	}
	if fa != fb || !strings.Contains(fa, want) || !strings.Contains(fa, `"`+testDatabase+`"`) {
		t.Errorf("fingerprints of one database: %q and %q (want %s and the database)", fa, fb, want)
	}
	c := openTestSource(t, Options{Databases: []string{"mysql"}})
	fc, err := c.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fc == fa {
		t.Errorf("database mysql has the fingerprint of %s: %q", testDatabase, fc)
	}
	if strings.Contains(fa, "root") || strings.Contains(fa, "3306") {
		t.Errorf("fingerprint %q holds the account or the port", fa)
	}
	if _, ok := source.Source(a).(source.Joiner); ok {
		t.Errorf("mysqlsource.Source is a source.Joiner; MySQL has no snapshot import")
	}
}
