package sink

import (
	"context"
	"fmt"
	"net/url"
	"slices"
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
// as "s3://my-bucket", as RDS's S3BucketName is. What is neither is
// refused with the form to write: a path ("/data/x", "./x") or an almost-URL
// of a known scheme ("file:rel", "file:/x", "mem:x"), which would otherwise
// be read as a bucket name and fail for a reason that does not say what
// is wrong.
func OpenURL(ctx context.Context, rawURL string) (Sink, error) {
	if rawURL != "" && !strings.Contains(rawURL, "://") {
		if err := notBucketName(rawURL); err != nil {
			return nil, err
		}
		rawURL = "s3://" + rawURL
	}
	return drivers.Open(ctx, rawURL)
}

// urlForms are the forms of the schemes this module's drivers register,
// for messages.
var urlForms = map[string]string{
	"file": "file:///absolute/path (three slashes: an empty host and an absolute path)",
	"mem":  "mem://name",
	"s3":   "s3://bucket[/prefix]",
}

// notBucketName refuses a destination without "://" that is no bucket
// name but a path or an almost-URL.
func notBucketName(raw string) error {
	shown := registry.Redact(raw)
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		shown = "xxxxx" + raw[i:] // "user:password@…" parses as an opaque URL
	}
	if strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, ".") || strings.HasPrefix(raw, "~") {
		return fmt.Errorf("sink: %q is a path, not a destination URL: write %s", shown, urlForms["file"])
	}
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok {
		return nil
	}
	scheme = strings.ToLower(scheme)
	form, known := urlForms[scheme]
	if !known && slices.Contains(Schemes(), scheme) {
		form, known = scheme+"://…", true
	}
	if known {
		return fmt.Errorf("sink: %q is not a URL of the %s scheme (it has no \"//\" after %q): write %s", shown, scheme, scheme+":", form)
	}
	return fmt.Errorf("sink: %q is neither a bucket name (which cannot contain ':') nor a URL (scheme://…, with one of the schemes %s)",
		shown, strings.Join(Schemes(), ", "))
}
