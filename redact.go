package snapexport

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/source"
)

// Every text that leaves the library (the errors of StartExportTask and
// Wait, a record's FailureCause and WarningMessage, events, the records in
// the destination) passes through one redactor that knows the task's
// secrets: the passwords and keys its URLs hold and those of the
// environment variables the drivers read. A secret is replaced wherever it
// appears, so a server error that echoes it (a MySQL syntax error quoting
// the statement, "database \"<password>\" does not exist") is redacted as
// well as the URL itself.

// redacted replaces every secret.
const redacted = "xxxxx"

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

// redactor hides a set of secrets; the nil *redactor hides nothing.
type redactor struct {
	secrets []string // longest first, so a secret containing another goes whole
}

// newRedactor collects the secrets of the given user inputs (URLs or
// connection strings) and of the credential environment variables.
func newRedactor(inputs ...string) *redactor {
	r := &redactor{}
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
func (r *redactor) add(secrets ...string) {
	for _, s := range secrets {
		if len(s) < minSecretLen || s == redacted {
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
func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// leaks reports whether s holds a secret.
func (r *redactor) leaks(s string) bool {
	return r != nil && slices.ContainsFunc(r.secrets, func(sec string) bool { return strings.Contains(s, sec) })
}

// Error returns err with its text redacted. An *Error stays an *Error with
// its Fault, so errors.Is and errors.As work as before; the cause below it
// is reachable with errors.As too, but its own text is the driver's.
func (r *redactor) Error(err error) error {
	if err == nil || r == nil || !r.leaks(err.Error()) {
		return err
	}
	var e *Error
	if errors.As(err, &e) && e == err {
		c := *e
		c.Message = r.String(e.Message)
		c.Err = source.RedactError(c.Err, r.secrets...)
		return &c
	}
	return source.RedactError(err, r.secrets...)
}

// Record returns rec with the secrets hidden in every text field.
func (r *redactor) Record(rec ExportTask) ExportTask {
	if r == nil || len(r.secrets) == 0 {
		return rec
	}
	rec.SourceArn = r.String(rec.SourceArn)
	rec.S3Bucket = r.String(rec.S3Bucket)
	rec.FailureCause = r.String(rec.FailureCause)
	rec.WarningMessage = r.String(rec.WarningMessage)
	if len(rec.ExportOnly) > 0 {
		rec.ExportOnly = slices.Clone(rec.ExportOnly)
		for i := range rec.ExportOnly {
			rec.ExportOnly[i] = r.String(rec.ExportOnly[i])
		}
	}
	if len(rec.Tables) > 0 {
		rec.Tables = slices.Clone(rec.Tables)
		for i := range rec.Tables {
			rec.Tables[i].Target = r.String(rec.Tables[i].Target)
		}
	}
	if rec.ResumedFrom != nil {
		rf := *rec.ResumedFrom
		rf.FailureCause = r.String(rf.FailureCause)
		rec.ResumedFrom = &rf
	}
	return rec
}

// Event returns ev with its message, table and record redacted.
func (r *redactor) Event(ev Event) Event {
	if r == nil {
		return ev
	}
	ev.Message = r.String(ev.Message)
	ev.Table = r.String(ev.Table)
	ev.Task = r.Record(ev.Task)
	return ev
}

// Progress returns p with its table name redacted.
func (r *redactor) Progress(p Progress) Progress {
	if r != nil && p.Table != "" {
		p.Table = r.String(p.Table)
	}
	return p
}
