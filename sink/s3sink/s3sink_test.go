package s3sink_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
	"github.com/snapexport/snapexport/sink/sinktest"
)

func TestMain(m *testing.M) { testenv.RunWithS3(m) }

// clientOptions are the options of a client of the test server, through
// httpClient when it is not nil (a recording or failing proxy).
func clientOptions(srv testenv.S3Server, endpoint string) *s3sink.ClientOptions {
	if endpoint == "" {
		endpoint = srv.Endpoint
	}
	return &s3sink.ClientOptions{
		Region:       srv.Region,
		Endpoint:     endpoint,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	}
}

func newClient(t testing.TB, o *s3sink.ClientOptions) *s3.Client {
	t.Helper()
	c, err := s3sink.NewClient(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type harness struct {
	client *s3.Client
	denied *s3.Client // signs with a wrong secret key
	bucket string
	opts   s3sink.Options
}

// MakeNonexistentSink opens a sink on a bucket that was never created.
func (h *harness) MakeNonexistentSink(ctx context.Context) (sink.Sink, error) {
	return s3sink.Open(ctx, h.client, "snapexport-missing-"+strings.ToLower(rand.Text()), &h.opts)
}

// MakeDeniedSink opens a sink on the bucket through a client whose secret
// key is wrong: the store refuses every request (SignatureDoesNotMatch).
func (h *harness) MakeDeniedSink(ctx context.Context) (sink.Sink, bool, error) {
	s, err := s3sink.Open(ctx, h.denied, h.bucket, &h.opts)
	return s, true, err
}

var (
	_ sinktest.NonexistentMaker = (*harness)(nil)
	_ sinktest.DeniedMaker      = (*harness)(nil)
)

// deniedClient signs with srv's access key and a wrong secret key.
func deniedClient(t testing.TB, srv testenv.S3Server, o *s3sink.ClientOptions) *s3.Client {
	d := *o
	d.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-"+rand.Text(), "")
	return newClient(t, &d)
}

func (h *harness) MakeSink(ctx context.Context) (sink.Sink, error) {
	return s3sink.Open(ctx, h.client, h.bucket, &h.opts)
}

func (h *harness) Close() {}

// Leftovers lists the incomplete multipart uploads under prefix.
func (h *harness) Leftovers(ctx context.Context, prefix string) ([]string, error) {
	s, err := s3sink.Open(ctx, h.client, h.bucket, &h.opts)
	if err != nil {
		return nil, err
	}
	ups, err := s.IncompleteUploads(ctx, prefix)
	var out []string
	for _, u := range ups {
		out = append(out, u.Key+" (upload "+u.UploadID+")")
	}
	return out, err
}

var _ sinktest.LeftoverLister = (*harness)(nil)

func TestConformance(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	o := clientOptions(srv, "")
	client, denied := newClient(t, o), deniedClient(t, srv, o)
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return &harness{client: client, denied: denied, bucket: bucket}, nil
	})
}

// The suite again with a prefix, the SDK's minimum part size, one part
// buffer (writes and uploads alternate) and no automatic checksums.
func TestConformancePrefixSmallParts(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	o := clientOptions(srv, "")
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	client, denied := newClient(t, o), deniedClient(t, srv, o)
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return &harness{client: client, denied: denied, bucket: bucket, opts: s3sink.Options{Prefix: "some/prefix", PartSize: s3sink.MinPartSize, Concurrency: 1}}, nil
	})
}

var _ = http.MethodGet
