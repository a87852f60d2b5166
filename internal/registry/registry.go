// Package registry holds the URL-scheme registries that source and sink
// drivers add themselves to in init (the database/sql idiom), and the
// redaction of secrets in URLs, which both share.
package registry

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Registry maps URL schemes to openers of T.
type Registry[T any] struct {
	kind    string // "source" or "sink", for messages
	example string // a driver import path, for the unknown-scheme message
	mu      sync.RWMutex
	openers map[string]func(context.Context, *url.URL) (T, error)
}

// New returns an empty registry; kind prefixes its messages.
func New[T any](kind, exampleImport string) *Registry[T] {
	return &Registry[T]{kind: kind, example: exampleImport, openers: map[string]func(context.Context, *url.URL) (T, error){}}
}

// Register adds an opener. It panics on a duplicate scheme, a programming
// error found at start-up.
func (r *Registry[T]) Register(scheme string, open func(context.Context, *url.URL) (T, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := r.openers[scheme]; dup {
		panic(r.kind + ": Register called twice for scheme " + scheme)
	}
	r.openers[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func (r *Registry[T]) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open parses rawURL and calls the opener of its scheme.
func (r *Registry[T]) Open(ctx context.Context, rawURL string) (T, error) {
	var zero T
	u, err := url.Parse(rawURL)
	if err != nil {
		return zero, fmt.Errorf("%s: invalid URL %q: %v", r.kind, Redact(rawURL), redactErr(err))
	}
	if u.Scheme == "" {
		return zero, fmt.Errorf("%s: URL %q has no scheme (want one of %s)", r.kind, Redact(rawURL), strings.Join(r.Schemes(), ", "))
	}
	r.mu.RLock()
	open, ok := r.openers[strings.ToLower(u.Scheme)]
	r.mu.RUnlock()
	if !ok {
		return zero, fmt.Errorf("%s: unknown URL scheme %q in %q (registered: %s; import the driver package for its side effect, e.g. _ %q)",
			r.kind, u.Scheme, Redact(rawURL), strings.Join(r.Schemes(), ", "), r.example)
	}
	return open(ctx, u)
}

// url.Parse errors quote the whole URL, password included.
func redactErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// Redact returns rawURL with any password (user info or a "password" query
// parameter) replaced by "xxxxx", for messages and records. Text that does
// not parse as a URL has everything between "://" and the last "@" hidden.
func Redact(rawURL string) string {
	if !strings.Contains(rawURL, "://") && strings.Contains(rawURL, "=") {
		return redactKeyValue(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i >= 0 {
			if j := strings.LastIndex(rawURL, "@"); j > i {
				return rawURL[:i+3] + "xxxxx" + rawURL[j:]
			}
		}
		return rawURL
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if l := strings.ToLower(k); l == "password" || l == "secret" || l == "secret_key" || l == "sslpassword" {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// keyValueSecret matches the value of a secret in a key/value connection
// string (libpq's "host=h password=x" or "password = 'a b'").
var keyValueSecret = regexp.MustCompile(`(?i)\b((?:ssl)?password|secret(?:_key)?)(\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// redactKeyValue hides the secrets of a key/value connection string.
func redactKeyValue(s string) string {
	return keyValueSecret.ReplaceAllString(s, "${1}${2}xxxxx")
}
