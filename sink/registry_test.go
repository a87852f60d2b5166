package sink_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/sink"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/sink/memsink"
	_ "github.com/snapexport/snapexport/sink/s3sink"
)

// TestOpenURLMessages: what is not a destination URL gets a message that
// says what is wrong and what to write (issue 13 item 11), and opening
// creates nothing (item 10).
func TestOpenURLMessages(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	base := t.TempDir()
	t.Chdir(base)
	for raw, want := range map[string]string{
		// Read as "s3://file:rel2" before: "invalid port".
		"file:rel2":  `"file:rel2" is not a URL of the file scheme (it has no "//" after "file:"): write file:///absolute/path`,
		"file:/x":    `write file:///absolute/path`,
		"FILE:x":     `write file:///absolute/path`,
		"mem:x":      `write mem://name`,
		"s3:bucket":  `write s3://bucket[/prefix]`,
		"/data/x":    `"/data/x" is a path, not a destination URL: write file:///absolute/path`,
		"./rel":      `is a path`,
		"file://./x": `is relative, which a file URL cannot be; want file:///absolute/path`,
		"file://x":   `names host "x"`,
		// A bucket name, refused by S3's rules, not for "no AWS region".
		"Bad_Bucket!": `invalid bucket name "Bad_Bucket!"`,
		// Neither: no secret is echoed.
		"user:s3cr3t@host": `"xxxxx@host" is neither a bucket name`,
		"ftp:x":            `"ftp:x" is neither a bucket name (which cannot contain ':') nor a URL (scheme://…, with one of the schemes file, mem, s3)`,
	} {
		s, err := sink.OpenURL(t.Context(), raw)
		if err == nil {
			s.Close()
			t.Errorf("OpenURL(%q) succeeded", raw)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("OpenURL(%q) = %v\nwant it to contain %s", raw, err, want)
		}
		for _, bad := range []string{"invalid port", "no AWS region", "s3cr3t"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("OpenURL(%q) = %v: says %q, not what is wrong", raw, err, bad)
			}
		}
	}
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Errorf("opening created %v (%v) in the working directory", entries, err)
	}
	if _, err := os.Stat("/x"); err == nil {
		t.Log("/x exists on this machine (not made by this test)")
	}
}

// TestOpenURLCreatesNothing: a directory sink opened for describe, and
// never written to, leaves the file system as it was.
func TestOpenURLCreatesNothing(t *testing.T) {
	base := t.TempDir()
	s, err := sink.OpenURL(t.Context(), "file://"+base+"/out/deeper")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.List(t.Context(), "") {
		t.Fatal(err)
	}
	if _, err := sink.ReadObject(t.Context(), s, "task/export_info_task.json"); err == nil {
		t.Error("read an object from a directory that does not exist")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Errorf("the sink created %v (%v)", entries, err)
	}
}
