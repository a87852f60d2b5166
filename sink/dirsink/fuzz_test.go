package dirsink_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
)

// FuzzKey: every key is either refused with ErrInvalidKey, or written to
// exactly root/key and read back, or (a key the OS cannot hold, such as an
// over-long name) refused with an OS error; nothing is ever created outside
// root and nothing is left behind.
func FuzzKey(f *testing.F) {
	for _, k := range []string{
		"", "/abs", "../x", "a/../b", "a//b", "a\\b", "a\x00b", ".", "..", "./a", "a/.", "a/", "/",
		"a", "a/b/c.parquet", ".hidden", "a/.snapexport-tmp-1", ".snapexport-tmp/a/b", "a/.snapexport-tmpx/b", "..a", "a..", "...", "é/ü", "a b/c",
		strings.Repeat("x", 300), strings.Repeat("d/", 50) + "f", "a/\xff",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		base := t.TempDir()
		dir := filepath.Join(base, "root")
		s, err := dirsink.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = sink.WriteObject(t.Context(), s, key, []byte("payload"), nil)
		switch {
		case errors.Is(err, sink.ErrInvalidKey):
			if sink.ValidateKey(key) == nil && !reservedKey(key) {
				t.Fatalf("valid key %q refused: %v", key, err)
			}
		case sink.ValidateKey(key) != nil:
			t.Fatalf("invalid key %q not refused with ErrInvalidKey: %v", key, err)
		case err == nil:
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
			if err != nil || string(got) != "payload" {
				t.Fatalf("key %q: root/key holds %q, %v", key, got, err)
			}
			var keys []string
			for o, err := range s.List(t.Context(), "") {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, o.Key)
			}
			if len(keys) != 1 || keys[0] != key {
				t.Fatalf("key %q: List = %q", key, keys)
			}
			if err := s.Delete(t.Context(), key); err != nil {
				t.Fatalf("Delete(%q): %v", key, err)
			}
		}
		// Whatever happened: base holds root or nothing, and root holds
		// nothing after the delete or the refusal.
		entries, err := os.ReadDir(base)
		if err != nil || len(entries) > 1 || len(entries) == 1 && entries[0].Name() != "root" {
			t.Fatalf("key %q: something was created outside root: %v, %v", key, entries, err)
		}
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if p != dir {
				t.Errorf("key %q: left %s in root", key, p)
			}
			return err
		})
	})
}

// reservedKey reports whether a segment of key starts with dirsink's
// reserved ".snapexport-tmp".
func reservedKey(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, ".snapexport-tmp") {
			return true
		}
	}
	return false
}
