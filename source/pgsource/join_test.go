package pgsource_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
)

// TestJoinSnapshot: a second Source (what a worker process opens with its
// own credentials) joins the first one's snapshot by its identity alone and
// reads exactly what the first reads, whole tables, key ranges and a
// partition that lives in another schema than its table, while rows written
// after the snapshot stay invisible to both. Once the exporting snapshot closes, joining fails, and so does
// a scan of the joined snapshot, both with source.ErrSnapshotGone.
func TestJoinSnapshot(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	other := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".t (id int PRIMARY KEY, v text)")
	mustExec(t, pool, "INSERT INTO "+s+".t SELECT g, 'v' || g FROM generate_series(1, 500) g")
	mustExec(t, pool, "CREATE TABLE "+s+".p (id int, v text) PARTITION BY RANGE (id)")
	mustExec(t, pool, "CREATE TABLE "+s+".p1 PARTITION OF "+s+".p FOR VALUES FROM (0) TO (100)")
	mustExec(t, pool, "CREATE TABLE "+other+".p2 PARTITION OF "+s+".p FOR VALUES FROM (100) TO (200)")
	mustExec(t, pool, "INSERT INTO "+s+".p SELECT g, 'p' || g FROM generate_series(0, 199) g")

	coord := openSource(t, nil)
	snap := snapshot(t, coord, source.SnapshotOptions{Workers: 2})
	listed, _ := listSchema(t, snap, s)
	mustExec(t, pool, "INSERT INTO "+s+".t SELECT g, 'late' FROM generate_series(501, 600) g")
	mustExec(t, pool, "UPDATE "+s+".t SET v = 'changed'")
	mustExec(t, pool, "INSERT INTO "+s+".p SELECT g, 'late' FROM generate_series(0, 199) g")

	worker := openSource(t, nil)
	var joiner source.Joiner = worker
	joined, err := joiner.JoinSnapshot(context.Background(), snap.Info().ID)
	if err != nil {
		t.Fatalf("JoinSnapshot: %v", err)
	}
	if _, _, err := joined.Tables(context.Background(), nil); err == nil {
		t.Errorf("Tables of a joined snapshot succeeded; it lists nothing")
	}

	tb := listed["t"]
	lo, hi := int64(100), int64(300)
	reqs := map[string]source.ScanRequest{"t": rdsRequest(t, tb)}
	ranged := rdsRequest(t, tb)
	ranged.Range = &source.KeyRange{Lower: &lo, Upper: &hi}
	reqs["t[100,300)"] = ranged
	pt := listed["p"]
	if len(pt.TablePartitions) != 2 || !slices.Contains(pt.TablePartitions, other+".p2") {
		t.Fatalf("partitions of p: %v", pt.TablePartitions)
	}
	for _, part := range pt.TablePartitions {
		r := rdsRequest(t, pt)
		r.TablePartition = part
		reqs["p/"+part] = r
	}
	want := map[string]int{"t": 500, "t[100,300)": 200, "p/p1": 100, "p/" + other + ".p2": 100}
	for name, req := range reqs {
		a, b := scanAll(t, snap, req), scanAll(t, joined, req)
		if len(a) != want[name] || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: the coordinator read %d rows, the joined snapshot %d (want %d, the same)", name, len(a), len(b), want[name])
		}
		if strings.Contains(fmt.Sprint(b), "late") || strings.Contains(fmt.Sprint(b), "changed") {
			t.Errorf("%s: the joined snapshot sees writes made after the snapshot", name)
		}
	}

	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err := joined.Scan(context.Background(), reqs["t"]); !errors.Is(err, source.ErrSnapshotGone) {
		if r != nil {
			r.Close()
		}
		t.Errorf("scan after the exporting snapshot closed: %v, want ErrSnapshotGone", err)
	}
	if err := joined.Close(); err != nil {
		t.Errorf("Close of the joined snapshot: %v", err)
	}
	if again, err := worker.JoinSnapshot(context.Background(), snap.Info().ID); !errors.Is(err, source.ErrSnapshotGone) {
		if again != nil {
			again.Close()
		}
		t.Errorf("JoinSnapshot after the exporting snapshot closed: %v, want ErrSnapshotGone", err)
	}
}

// TestJoinSnapshotRefusals: an identity without an exported snapshot, and
// one of a database the joining Source does not read, are refused before
// any scan.
func TestJoinSnapshotRefusals(t *testing.T) {
	worker := openSource(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := worker.JoinSnapshot(ctx, map[string]string{"test.lsn": "0/0"}); err == nil || !strings.Contains(err.Error(), "exported_snapshot") {
		t.Errorf("identity without exported snapshot: %v", err)
	}
	if _, err := worker.JoinSnapshot(ctx, map[string]string{"elsewhere.exported_snapshot": "00000003-00000002-1"}); err == nil || !strings.Contains(err.Error(), `"elsewhere"`) {
		t.Errorf("snapshot of another database: %v", err)
	}
}

// TestFingerprint: two Sources on the same database of the same server
// have the same fingerprint; one on another database of the same server
// differs; none holds the host, the user or the password.
func TestFingerprint(t *testing.T) {
	ctx := context.Background()
	a, b := openSource(t, nil), openSource(t, nil)
	fa, err := a.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := b.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fa != fb || !strings.Contains(fa, "system_identifier=") {
		t.Errorf("fingerprints of one database: %q and %q", fa, fb)
	}
	c, err := pgsource.OpenURL(ctx, dbURL(t, "postgres"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fc, err := c.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fc == fa {
		t.Errorf("database postgres has the fingerprint of %s: %q", testDatabase, fc)
	}
	for _, leak := range []string{"127.0.0.1", "localhost", "root", "password"} {
		if strings.Contains(fa, leak) {
			t.Errorf("fingerprint %q holds %q", fa, leak)
		}
	}
}
