package e2e_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"

	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

func TestMain(m *testing.M) { testenv.RunWithS3(m) }

// uuidRE matches the random part of data file names.
var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func export(t *testing.T, dbPath, destination string) snapexport.ExportTask {
	t.Helper()
	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	task, err := exp.StartExportTask(t.Context(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "s3-e2e",
		SourceArn:            "sqlite://" + dbPath,
		S3BucketName:         destination,
		S3Prefix:             "exports/daily",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	rec, err := task.Wait(ctx)
	if err != nil || rec.Status != snapexport.StatusComplete {
		t.Fatalf("export to %s: %v (status %s, cause %q)", destination, err, rec.Status, rec.FailureCause)
	}
	return rec
}

// TestExportSQLiteDemo exports the demo database to a directory and to a
// bucket; the keys must be the same (up to the random file names) and the
// files downloaded from the bucket must hold what the directory's hold.
func TestExportSQLiteDemo(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	// Credentials come from the SDK's default chain, as for a user.
	missing := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)

	dbPath := filepath.Join(t.TempDir(), "shop.db")
	if err := demodb.Create(t.Context(), dbPath, 1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	export(t, dbPath, "file://"+dir)
	rec := export(t, dbPath, srv.URL(bucket))
	if rec.S3Bucket != "s3://"+bucket {
		t.Errorf("S3Bucket = %q, want s3://%s", rec.S3Bucket, bucket)
	}

	var dirKeys []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		dirKeys = append(dirKeys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	s, err := sink.OpenURL(ctx, srv.URL(bucket))
	if err != nil {
		t.Fatal(err)
	}
	var s3Keys []string
	for o, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		s3Keys = append(s3Keys, o.Key)
	}
	norm := func(keys []string) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = uuidRE.ReplaceAllString(k, "UUID")
		}
		slices.Sort(out)
		return out
	}
	if a, b := norm(dirKeys), norm(s3Keys); !slices.Equal(a, b) {
		t.Fatalf("bucket keys differ from the directory's:\n dir %q\n s3  %q", a, b)
	}
	if ups, err := s.(*s3sink.Sink).IncompleteUploads(ctx, ""); err != nil || len(ups) > 0 {
		t.Errorf("incomplete uploads after the export: %v, %v", ups, err)
	}

	// The data files: download, read with DuckDB, compare with the
	// directory's file of the same table.
	duck := duckcheck.Open(t)
	down := t.TempDir()
	tables := 0
	for _, key := range s3Keys {
		if !strings.HasSuffix(key, ".parquet") {
			continue
		}
		b, err := sink.ReadObject(ctx, s, key)
		if err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(down, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(local, b, 0o644); err != nil {
			t.Fatal(err)
		}
		theirs, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(uuidRE.ReplaceAllString(key, "*"))))
		if err != nil || len(theirs) != 1 {
			t.Fatalf("directory counterpart of %q: %v, %v", key, theirs, err)
		}
		duck.CheckNullCounts(local)
		table := strings.TrimPrefix(strings.Split(key, "/")[4], "main.")
		if got, want := duck.Int("SELECT count(*) FROM read_parquet(?)", local), int64(demodb.Tables[table]); got != want {
			t.Errorf("%s: %d rows, want %d", key, got, want)
		}
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM read_parquet(?) EXCEPT ALL SELECT * FROM read_parquet(?))",
		} {
			if n := duck.Int(q, local, theirs[0]); n != 0 {
				t.Errorf("%s: %d rows differ from the directory export", key, n)
			}
			if n := duck.Int(q, theirs[0], local); n != 0 {
				t.Errorf("%s: %d rows of the directory export are missing", key, n)
			}
		}
		tables++
	}
	if want := len(demodb.Tables) - 2; tables != want { // the skipped table, the empty one
		t.Errorf("%d data files, want %d", tables, want)
	}
	t.Logf("%d objects in the bucket, %d data files read back: %q", len(s3Keys), tables, s3Keys)

	b, err := sink.ReadObject(ctx, s, "exports/daily/s3-e2e/export_info_s3-e2e.json")
	if err != nil {
		t.Fatal(err)
	}
	var info manifest.ExportInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Status != "COMPLETE" || info.ExportTaskIdentifier != "s3-e2e" {
		t.Errorf("export_info: %v, %+v", err, info)
	}
}
