package s3sink

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// ClientOptions describe the S3 client [NewClient] builds. The zero value is
// AWS S3 with the SDK's default credential and region chains.
type ClientOptions struct {
	// Region the client signs for. "" takes the SDK's chain (AWS_REGION,
	// AWS_DEFAULT_REGION, the shared config file); with an Endpoint and
	// still no region, "us-east-1", which S3-compatible stores accept.
	Region string
	// Endpoint is the base URL of an S3-compatible store
	// ("http://127.0.0.1:7070", "https://minio.example.com"). A host
	// without a scheme gets https://, or http:// with DisableHTTPS.
	Endpoint string
	// UsePathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint; most S3-compatible stores need it.
	UsePathStyle bool
	// DisableHTTPS sends requests over plain HTTP.
	DisableHTTPS bool
	// RequestChecksumCalculation: the zero value is the SDK default
	// (when_supported: a CRC32 on every upload). Stores that reject the
	// SDK's checksum trailers need aws.RequestChecksumCalculationWhenRequired.
	RequestChecksumCalculation aws.RequestChecksumCalculation
	// ResponseChecksumValidation: the zero value is the SDK default.
	ResponseChecksumValidation aws.ResponseChecksumValidation
	// MaxAttempts bounds the attempts of each request, the first included,
	// for transient failures (5xx, throttling, connection resets; 403 and
	// 404 are never retried). 0 is DefaultMaxAttempts (10). See
	// [NewRetryer] for the backoff between them.
	MaxAttempts int
	// RoleARN, if set, is assumed through STS AssumeRole with the base
	// credentials, and the temporary credentials sign every request. They
	// are cached and renewed before they expire, so exports longer than a
	// session last.
	RoleARN string
	// RoleSessionName names the AssumeRole session; [SessionName] derives
	// one from an export task identifier. "" is "snapexport".
	RoleSessionName string
	// ExternalID is passed to AssumeRole when set.
	ExternalID string
	// STSEndpoint is the base URL of STS, for private or regional
	// endpoints; "" is the SDK's.
	STSEndpoint string
	// Credentials are the base credentials; nil takes the SDK's default
	// chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
	// AWS_PROFILE and the shared files, web identity, ECS and EC2 roles).
	Credentials aws.CredentialsProvider
	// HTTPClient sends the requests; nil is the SDK's. With AWS_CA_BUNDLE
	// set, the SDK accepts only its own *awshttp.BuildableClient here.
	HTTPClient aws.HTTPClient
}

// NewClient builds an S3 client from opts (nil: the zero value). It reads
// the environment and the shared AWS config files, as the SDK's
// LoadDefaultConfig does, but makes no request: AssumeRole is called when
// the first S3 request needs credentials.
func NewClient(ctx context.Context, opts *ClientOptions) (*s3.Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	var loads []func(*config.LoadOptions) error
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		loads = append(loads, config.WithCredentialsProvider(o.Credentials))
	}
	if o.HTTPClient != nil {
		loads = append(loads, config.WithHTTPClient(o.HTTPClient))
	}
	if o.MaxAttempts > 0 {
		loads = append(loads, config.WithRetryMaxAttempts(o.MaxAttempts))
	}
	if o.RequestChecksumCalculation != 0 {
		loads = append(loads, config.WithRequestChecksumCalculation(o.RequestChecksumCalculation))
	}
	if o.ResponseChecksumValidation != 0 {
		loads = append(loads, config.WithResponseChecksumValidation(o.ResponseChecksumValidation))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("s3sink: loading the AWS configuration: %w", err)
	}
	// Not the SDK's default retryer: see NewRetryer. The attempts are
	// MaxAttempts, else AWS_MAX_ATTEMPTS or the shared config's
	// max_attempts, else DefaultMaxAttempts; AWS_RETRY_MODE is not used.
	attempts := cmp.Or(cfg.RetryMaxAttempts, DefaultMaxAttempts)
	cfg.Retryer = func() aws.Retryer { return NewRetryer(attempts) }
	cfg.RetryMaxAttempts = 0
	endpoint := o.Endpoint
	if endpoint != "" && !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if o.DisableHTTPS {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	if cfg.Region == "" && endpoint != "" {
		cfg.Region = "us-east-1"
	}
	if o.RoleARN != "" {
		name := o.RoleSessionName
		if name == "" {
			name = "snapexport"
		}
		stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
			if o.STSEndpoint != "" {
				so.BaseEndpoint = aws.String(o.STSEndpoint)
			}
		})
		provider := stscreds.NewAssumeRoleProvider(stsClient, o.RoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = name
			if o.ExternalID != "" {
				ao.ExternalID = aws.String(o.ExternalID)
			}
		})
		// The cache renews the credentials a little before they expire
		// (15 minutes by default), so long exports keep signing.
		cfg.Credentials = aws.NewCredentialsCache(provider, func(co *aws.CredentialsCacheOptions) {
			co.ExpiryWindow = time.Minute
			co.ExpiryWindowJitterFrac = 0.5
		})
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if endpoint != "" {
			so.BaseEndpoint = aws.String(endpoint)
		}
		so.UsePathStyle = o.UsePathStyle
		so.EndpointOptions.DisableHTTPS = o.DisableHTTPS
		// A multipart object's checksum is a checksum of part checksums,
		// which the SDK cannot check on a whole-object read and says so
		// on every GetObject; the sink reads whole objects on purpose.
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// SessionName derives an AssumeRole session name from an export task
// identifier: "snapexport-<id>", cut to the 64 characters STS allows, with
// characters STS refuses replaced by "-". CloudTrail then shows which task
// wrote what.
func SessionName(taskID string) string {
	name := []byte("snapexport-" + taskID)
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0
		if !ok {
			name[i] = '-'
		}
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return string(name)
}

// Retry defaults of [NewRetryer], for a long-running bulk job.
const (
	// DefaultMaxAttempts is the attempts of one request, the first
	// included: with the backoff below, a request outlasts an outage of
	// at least 35 s (the shortest total wait), at most about 70 s before
	// it fails.
	DefaultMaxAttempts = 10
	// retryBaseDelay is the backoff before the first retry, doubled for
	// each next one up to retryMaxBackoff.
	retryBaseDelay  = 250 * time.Millisecond
	retryMaxBackoff = 20 * time.Second
)

// NewRetryer returns the retryer [NewClient] gives its clients: the SDK's
// standard retryer (which retries 5xx answers, throttling, connection
// resets and timeouts, and never 4xx such as 403 or 404) with maxAttempts
// attempts per request, and two changes for a bulk job that may run for
// hours:
//
//   - No client-side retry quota (ratelimit.None). The SDK's default is one
//     token bucket of 500 for the whole client, where a retry costs 5 and a
//     timeout 10: a burst of failures across concurrent part uploads (a
//     1.4 s outage is enough) empties it, and every later retry then fails
//     at once with "retry quota exceeded", whatever max_attempts is. Each
//     request keeps its own bound instead: maxAttempts and the backoff.
//   - "Equal jitter" backoff: before retry n the wait is d/2 plus a random
//     part of d/2, d = 250 ms × 2^(n-1) capped at 20 s. The fixed half makes
//     the least total wait grow with the attempts (35 s over 10 attempts),
//     so an outage of that length never ends a request by bad luck, while
//     the random half spreads concurrent retries apart.
//
// The sink's cleanup requests (AbortMultipartUpload and the ListParts that
// checks it, the sweep of abandoned uploads) do not use the client's
// retryer: they have their own attempts and deadline, so a budget spent by
// the data requests cannot keep an upload from being aborted.
func NewRetryer(maxAttempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = retryMaxBackoff
		o.RateLimiter = ratelimit.None
		o.Backoff = equalJitter{base: retryBaseDelay, max: retryMaxBackoff}
	})
}

// equalJitter waits half the exponential delay plus a random part of the
// other half (the "equal jitter" of the AWS architecture blog's backoff
// article).
type equalJitter struct{ base, max time.Duration }

func (b equalJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.max
	if n := attempt - 1; n < 30 {
		d = min(b.base<<max(n, 0), b.max)
	}
	return d/2 + rand.N(d/2+1), nil
}
