package sink

import (
	"context"
	"net/url"
	"strings"

	"github.com/snapexport/snapexport/internal/registry"
)

var drivers = registry.New[Sink]("sink", "github.com/snapexport/snapexport/sink/s3sink")

// Register makes a driver available under a URL scheme. It panics if the
// scheme is registered twice.
func Register(scheme string, open func(ctx context.Context, u *url.URL) (Sink, error)) {
	drivers.Register(scheme, open)
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string { return drivers.Schemes() }

// OpenURL opens the sink a URL names through the driver registered for its
// scheme. A bare bucket name (no "://") means AWS S3: "my-bucket" is opened
// as "s3://my-bucket", as RDS's S3BucketName is.
func OpenURL(ctx context.Context, rawURL string) (Sink, error) {
	if rawURL != "" && !strings.Contains(rawURL, "://") {
		rawURL = "s3://" + rawURL
	}
	return drivers.Open(ctx, rawURL)
}
