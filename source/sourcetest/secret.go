package sourcetest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckNoSecret fails t if secret appears in any file under dir (an
// export's records and data) or in any of values, printed with %+v and as
// JSON (records, events, errors, warnings). Drivers' tests of secrets given
// outside the URL (PGPASSWORD, MYSQL_PWD, option files) use it on
// everything an export produced.
func CheckNoSecret(t testing.TB, secret, dir string, values ...any) {
	t.Helper()
	if secret == "" {
		t.Fatal("sourcetest: CheckNoSecret with an empty secret")
	}
	files := 0
	if dir != "" {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if strings.Contains(string(b), secret) {
				t.Errorf("the secret appears in %s", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Errorf("sourcetest: CheckNoSecret found no file under %s", dir)
		}
	}
	for i, v := range values {
		js, _ := json.Marshal(v)
		if s := fmt.Sprintf("%+v", v); strings.Contains(s, secret) || strings.Contains(string(js), secret) {
			t.Errorf("the secret appears in value %d: %s", i, s)
		}
	}
}
