package source

import (
	"context"
	"net/url"
	"strconv"

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
func OpenURL(ctx context.Context, rawURL string) (Source, error) {
	return drivers.Open(ctx, rawURL)
}

// Redact returns rawURL with its password hidden, for messages and records.
func Redact(rawURL string) string { return registry.Redact(rawURL) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
