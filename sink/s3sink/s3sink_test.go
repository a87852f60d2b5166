package s3sink_test

import (
	"context"
	"net/http"
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
	bucket string
	opts   s3sink.Options
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
	client := newClient(t, clientOptions(srv, ""))
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return &harness{client: client, bucket: bucket}, nil
	})
}

// The suite again with a prefix, the SDK's minimum part size, one part
// buffer (writes and uploads alternate) and no automatic checksums.
func TestConformancePrefixSmallParts(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	o := clientOptions(srv, "")
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	client := newClient(t, o)
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return &harness{client: client, bucket: bucket, opts: s3sink.Options{Prefix: "some/prefix", PartSize: s3sink.MinPartSize, Concurrency: 1}}, nil
	})
}

var _ = http.MethodGet
