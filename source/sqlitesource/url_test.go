package sqlitesource_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source/sqlitesource"
)

func TestParseURL(t *testing.T) {
	good := map[string]string{
		"sqlite:///abs/path/shop.db": "/abs/path/shop.db",
		"sqlite:/abs/shop.db":        "/abs/shop.db",
		"SQLITE:///abs/shop.db":      "/abs/shop.db",
		"sqlite:///a%20b/c%3Fd.db":   "/a b/c?d.db",
		"sqlite:rel/shop.db":         "rel/shop.db",
		"sqlite:./shop.db":           "./shop.db",
		"sqlite:my%20shop.db":        "my shop.db",
		"sqlite:../up/shop.db":       "../up/shop.db",
		"sqlite:///abs/with%23hash":  "/abs/with#hash",
		"sqlite:///abs/%E4%B8%96.db": "/abs/世.db",
		"sqlite:shop.db":             "shop.db",
		"sqlite:///":                 "/",
	}
	for raw, want := range good {
		got, err := sqlitesource.ParseURL(raw)
		if err != nil || got != filepath.FromSlash(want) {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	bad := map[string]string{
		"sqlite:":                    "no file path",
		"sqlite://":                  "no file path",
		"sqlite://./rel.db":          "host",
		"sqlite://host/abs.db":       "host",
		"sqlite://user:pw@/abs.db":   "host",
		"sqlite:///abs.db?mode=rw":   "parameters",
		"sqlite:///abs.db?":          "parameters",
		"sqlite:rel.db?cache=shared": "parameters",
		"sqlite:///abs.db#frag":      "fragment",
		"postgres://host/db":         "sqlite:",
		"sqlite:%zz":                 "invalid",
		"sqlite:///a%00b":            "NUL",
	}
	for raw, want := range bad {
		_, err := sqlitesource.ParseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error mentioning %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("ParseURL(%q) error shows the password: %v", raw, err)
		}
	}
}

// FuzzURL: ParseURL never panics, accepts only what it can name, and an
// absolute path survives the trip through its identity URL.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"sqlite:///abs/x.db", "sqlite:rel.db", "sqlite://./x", "sqlite:///a%20b", "sqlite:", "sqlite:?x", "sqlite:///%", "sqlite:/a#b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := sqlitesource.ParseURL(raw)
		if err != nil {
			return
		}
		if p == "" || strings.ContainsRune(p, 0) {
			t.Fatalf("ParseURL(%q) = %q", raw, p)
		}
		if !filepath.IsAbs(p) {
			return
		}
		back, err := sqlitesource.ParseURL(sqlitesource.URL(p))
		if err != nil || back != p {
			t.Fatalf("ParseURL(URL(%q)) = %q, %v (URL %q)", p, back, err, sqlitesource.URL(p))
		}
	})
}
