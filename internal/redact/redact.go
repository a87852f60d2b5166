// Package redact hides a task's secrets in every text that leaves the
// library: the passwords and keys its URLs hold and those of the
// environment variables the drivers read.
package redact

import (
	"cmp"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/source"
)

// A secret is replaced wherever it appears, so a server error that echoes
// it (a MySQL syntax error quoting the statement, "database \"<password>\"
// does not exist") is redacted as well as the URL itself.

// Mask replaces every secret.
const Mask = "xxxxx"

// minSecretLen is the shortest secret replaced: replacing a one- or
// two-character password everywhere would garble every message and hide
// nothing an attacker could not guess.
const minSecretLen = 3

// secretParams are the URL query parameters and key/value connection string
// keys whose value is a secret (lowercase).
var secretParams = []string{
	"password", "passwd", "pwd", "sslpassword", "secret", "secret_key", "secret_access_key",
	"aws_secret_access_key", "session_token", "aws_session_token", "token", "x-amz-security-token",
}

// secretEnv are the environment variables whose values the drivers and the
// AWS SDK use as credentials.
var secretEnv = []string{"PGPASSWORD", "MYSQL_PWD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// keyValueSecret matches password=VALUE in a key/value connection string
// (PostgreSQL's "host=h password='p q'") or a URL query; the value is
// quoted with single quotes or runs to a space, & or ;.
var keyValueSecret = regexp.MustCompile(`(?i)\b(` + strings.Join(quoteAll(secretParams), "|") + `)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&;]+)`)

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = regexp.QuoteMeta(v)
	}
	return out
}

// Redactor hides a set of secrets; the nil *Redactor hides nothing.
type Redactor struct {
	secrets []string // longest first, so a secret containing another goes whole
}

// New collects the secrets of the given user inputs (URLs or connection
// strings) and of the credential environment variables.
func New(inputs ...string) *Redactor {
	r := &Redactor{}
	for _, in := range inputs {
		r.add(secretsOf(in)...)
	}
	for _, k := range secretEnv {
		r.add(os.Getenv(k))
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	r.secrets = slices.Compact(r.secrets)
	return r
}

// add records a secret in the forms messages carry it: as given, URL-escaped,
// and escaped inside a Go or JSON quoted string.
func (r *Redactor) add(secrets ...string) {
	for _, s := range secrets {
		if len(s) < minSecretLen || s == Mask {
			continue
		}
		forms := []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("", s).String()[1:]}
		q := strconv.Quote(s)
		forms = append(forms, q[1:len(q)-1])
		if j, err := json.Marshal(s); err == nil {
			forms = append(forms, string(j[1:len(j)-1]))
		}
		for _, f := range forms {
			if len(f) >= minSecretLen && !slices.Contains(r.secrets, f) {
				r.secrets = append(r.secrets, f)
			}
		}
	}
}

// secretsOf returns the secrets a URL or key/value connection string holds:
// the password of its user info, and the values of secret parameters.
func secretsOf(s string) []string {
	var out []string
	for _, m := range keyValueSecret.FindAllStringSubmatch(s, -1) {
		v := m[2]
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			v = strings.ReplaceAll(v[1:len(v)-1], `\'`, `'`)
		}
		out = append(out, v)
		if u, err := url.QueryUnescape(v); err == nil {
			out = append(out, u)
		}
	}
	if u, err := url.Parse(s); err == nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
		for k, vs := range u.Query() {
			if slices.Contains(secretParams, strings.ToLower(k)) {
				out = append(out, vs...)
			}
		}
	} else if i := strings.Index(s, "://"); i >= 0 {
		// Unparseable: what lies between the user name and the last @.
		if j := strings.LastIndex(s, "@"); j > i {
			if _, pw, ok := strings.Cut(s[i+3:j], ":"); ok {
				out = append(out, pw)
			}
		}
	}
	return out
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// Leaks reports whether s holds a secret.
func (r *Redactor) Leaks(s string) bool {
	return r != nil && slices.ContainsFunc(r.secrets, func(sec string) bool { return strings.Contains(s, sec) })
}

// Secrets are the forms of the secrets the redactor replaces.
func (r *Redactor) Secrets() []string {
	if r == nil {
		return nil
	}
	return r.secrets
}

// Error returns err with its text redacted (source.RedactError: the cause
// stays reachable with errors.As, its own text is the driver's).
func (r *Redactor) Error(err error) error {
	if err == nil || !r.Leaks(err.Error()) {
		return err
	}
	return source.RedactError(err, r.secrets...)
}
