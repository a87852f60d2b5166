package registry

import "testing"

// TestRedactKeyValue: a libpq key/value string keeps everything but its
// secrets, quoted or not.
func TestRedactKeyValue(t *testing.T) {
	for in, want := range map[string]string{
		"host=h user=u password=S3cr3t dbname=d":      "host=h user=u password=xxxxx dbname=d",
		"host=h password = 'it\\'s secret' dbname=d":  "host=h password = xxxxx dbname=d",
		"host=h PASSWORD=a sslpassword=b":             "host=h PASSWORD=xxxxx sslpassword=xxxxx",
		"host=h user=u":                               "host=h user=u",
		"postgres://u:S3cr3t@h/d?sslmode=disable&x=y": "postgres://u:xxxxx@h/d?sslmode=disable&x=y",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
