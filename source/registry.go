package source

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/internal/registry"
)

var drivers = registry.New[Source]("source", "github.com/snapexport/snapexport/source/pgsource")

// Register makes a driver available under a URL scheme. It panics if the
// scheme is registered twice, as database/sql does.
func Register(scheme string, open func(ctx context.Context, u *url.URL) (Source, error)) {
	drivers.Register(scheme, open)
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string { return drivers.Schemes() }

// OpenURL opens the source a URL names through the driver registered for its
// scheme (import the driver package for its side effect to register it).
// A libpq key/value connection string ("host=h user=u dbname=d") is not a
// URL: it is refused, its password hidden, with a pointer to
// pgsource.OpenURL, which takes one.
func OpenURL(ctx context.Context, rawURL string) (Source, error) {
	if !strings.Contains(rawURL, "://") && keyValueString.MatchString(rawURL) {
		return nil, fmt.Errorf("source: %q is a key/value connection string, not a URL: give postgres://user@host:5432/dbname?sslmode=... (pgsource.OpenURL takes key/value strings)", Redact(rawURL))
	}
	return drivers.Open(ctx, rawURL)
}

// keyValueString matches the start of a libpq key/value string.
var keyValueString = regexp.MustCompile(`^\s*[A-Za-z_]+\s*=`)

// Redact returns rawURL with its password hidden, for messages and records.
func Redact(rawURL string) string { return registry.Redact(rawURL) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
