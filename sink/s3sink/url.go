package s3sink

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/snapexport/snapexport/sink"
)

// Scheme is the URL scheme the package registers with sink.Register.
const Scheme = "s3"

func init() {
	sink.Register(Scheme, func(ctx context.Context, u *url.URL) (sink.Sink, error) {
		return OpenURL(ctx, u)
	})
}

// ParseURL splits an s3:// URL into the bucket, the client options and the
// sink options; the parameters are listed in the package documentation.
// Unknown parameters are an error, so a misspelt one is not silently
// ignored.
func ParseURL(u *url.URL) (bucket string, copts ClientOptions, opts Options, err error) {
	if !strings.EqualFold(u.Scheme, Scheme) {
		return "", copts, opts, fmt.Errorf("s3sink: URL %q: scheme is not %s://", redactURL(u), Scheme)
	}
	if u.User != nil {
		return "", copts, opts, fmt.Errorf("s3sink: URL %q: credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile", redactURL(u))
	}
	bucket = u.Host
	if bucket == "" {
		return "", copts, opts, fmt.Errorf("s3sink: URL %q has no bucket (want s3://bucket[/prefix])", redactURL(u))
	}
	opts.Prefix = strings.Trim(u.Path, "/")
	q := u.Query()
	for name, vals := range q {
		if len(vals) != 1 {
			return "", copts, opts, fmt.Errorf("s3sink: URL parameter %q given %d times", name, len(vals))
		}
	}
	bad := func(name, why string) error {
		return fmt.Errorf("s3sink: URL parameter %s=%q: %s", name, q.Get(name), why)
	}
	boolParam := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, bad(name, "want true or false")
		}
		return b, nil
	}
	intParam := func(name string) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := parseSize(v)
		if err != nil || n < 0 {
			return 0, bad(name, "want a non-negative number")
		}
		return n, nil
	}
	var unknown []string
	for name := range q {
		switch name {
		case "region":
			copts.Region = q.Get(name)
		case "endpoint":
			copts.Endpoint = q.Get(name)
		case "use_path_style":
			if copts.UsePathStyle, err = boolParam(name); err != nil {
				return
			}
		case "disable_https":
			if copts.DisableHTTPS, err = boolParam(name); err != nil {
				return
			}
		case "request_checksum_calculation":
			switch strings.ToLower(q.Get(name)) {
			case "when_supported":
				copts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
			case "when_required":
				copts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			default:
				err = bad(name, "want when_supported or when_required")
				return
			}
		case "response_checksum_validation":
			switch strings.ToLower(q.Get(name)) {
			case "when_supported":
				copts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
			case "when_required":
				copts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			default:
				err = bad(name, "want when_supported or when_required")
				return
			}
		case "max_attempts":
			var n int64
			if n, err = intParam(name); err != nil {
				return
			}
			copts.MaxAttempts = int(n)
		case "role_arn":
			copts.RoleARN = q.Get(name)
		case "role_session_name":
			copts.RoleSessionName = q.Get(name)
		case "external_id":
			copts.ExternalID = q.Get(name)
		case "sts_endpoint":
			copts.STSEndpoint = q.Get(name)
		case "sse":
			opts.SSE = q.Get(name)
		case "kms_key_id":
			opts.KMSKeyID = q.Get(name)
		case "part_size":
			if opts.PartSize, err = intParam(name); err != nil {
				return
			}
		case "concurrency":
			var n int64
			if n, err = intParam(name); err != nil {
				return
			}
			opts.Concurrency = int(n)
		case "conditional_writes":
			var on bool
			if q.Get(name) == "" {
				err = bad(name, "want true or false")
				return
			}
			if on, err = boolParam(name); err != nil {
				return
			}
			opts.DisableConditionalWrites = !on
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		err = fmt.Errorf("s3sink: unknown URL parameter(s) %s in %q (known: region, endpoint, use_path_style, disable_https, request_checksum_calculation, response_checksum_validation, max_attempts, role_arn, role_session_name, external_id, sts_endpoint, sse, kms_key_id, part_size, concurrency, conditional_writes)",
			strings.Join(unknown, ", "), redactURL(u))
	}
	return
}

// parseSize reads a byte count: digits, optionally followed by KiB, MiB or
// GiB.
func parseSize(v string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if s, ok := strings.CutSuffix(v, suffix); ok {
			v, mult = s, m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}

// OpenURL opens the sink an s3:// URL names, with a client built by
// [NewClient] from the URL's parameters and the SDK's default credential
// chain. It makes no request. A region must come from the URL or the
// environment (AWS_REGION, AWS_DEFAULT_REGION, the shared config file)
// unless an endpoint is given: like RDS, the sink writes to a bucket of the
// region it is told, and Check refuses a bucket elsewhere.
func OpenURL(ctx context.Context, u *url.URL) (*Sink, error) {
	bucket, copts, opts, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	// Before the client: a malformed name is the error to report, not the
	// missing region it leads to.
	if err := ValidateBucketName(bucket); err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, &copts)
	if err != nil {
		return nil, err
	}
	if client.Options().Region == "" {
		return nil, fmt.Errorf("s3sink: no AWS region for bucket %q: add ?region= to the URL or set AWS_REGION", bucket)
	}
	return Open(ctx, client, bucket, &opts)
}

// redactURL shows a URL in messages. s3:// URLs carry no secrets (the
// parser refuses user information), but a malformed one might.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("xxxxx")
	}
	return c.String()
}
