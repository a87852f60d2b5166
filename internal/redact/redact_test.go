package redact_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/snapexport/snapexport/internal/redact"
)

func TestRedactorFindsSecrets(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-the-env")
	for _, c := range []struct{ input, text string }{
		{"postgres://u:p%40ss-word@h/db", "login failed: p@ss-word and p%40ss-word"},
		{`host=h user=u password='it\'s a secret' dbname=d`, "it's a secret"},
		{"host=h user=u password=kv-secret dbname=d", `"has no scheme": "host=h user=u password=kv-secret dbname=d"`},
		{"mysql://u@h/?password=q-secret&tls=true", "SET password='q-secret'"},
		{"s3://b?secret_key=AKIAsecret&session_token=tok-123", "AKIAsecret tok-123"},
		{"mysql://u:un parsable%@h/", "un parsable%"},
		{"sqlite:///x.db", "from-the-env"},
	} {
		r := redact.New(c.input)
		got := r.String(c.text)
		assert.Contains(t, got, "xxxxx", c.input)
		for _, s := range r.Secrets() {
			assert.NotContains(t, got, s, c.input)
		}
	}
	assert.Equal(t, "ab", redact.New("postgres://u:ab@h/db").String("ab"), "too short to redact")
}
