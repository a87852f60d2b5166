package s3sink_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// classification is what the core reads off a check's error.
type classification struct {
	notFound, wrongRegion, denied, kms, role bool
}

func classify(be *s3sink.BucketError) classification {
	return classification{be.BucketNotFound(), be.WrongRegion(), be.AccessDenied(), be.KMSKeyNotAccessible(), be.RoleNotAssumable()}
}

func TestCheck(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	ctx := t.Context()
	open := func(t *testing.T, bucket string, tweak func(*s3sink.ClientOptions)) *s3sink.Sink {
		co := clientOptions(srv, "")
		co.MaxAttempts = 2
		if tweak != nil {
			tweak(co)
		}
		s, err := s3sink.Open(ctx, newClient(t, co), bucket, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("OK", func(t *testing.T) {
		if err := open(t, bucket, nil).Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	for _, c := range []struct {
		name    string
		bucket  string
		tweak   func(*s3sink.ClientOptions)
		want    classification
		code    string
		failure error
	}{
		{"MissingBucket", "snapexport-no-such-bucket", nil, classification{notFound: true}, "NoSuchBucket", sink.ErrNoSuchBucket},
		{"WrongSecret", bucket, func(o *s3sink.ClientOptions) {
			o.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-secret", "")
		}, classification{denied: true}, "SignatureDoesNotMatch", sink.ErrAccessDenied},
		{"UnknownAccessKey", bucket, func(o *s3sink.ClientOptions) {
			o.Credentials = credentials.NewStaticCredentialsProvider("AKIDUNKNOWN", "whatever", "")
		}, classification{denied: true}, "", sink.ErrAccessDenied},
		{"WrongRegion", bucket, func(o *s3sink.ClientOptions) { o.Region = "eu-west-1" }, classification{wrongRegion: true}, "AuthorizationHeaderMalformed", sink.ErrWrongRegion},
		{"RefusedEndpoint", bucket, func(o *s3sink.ClientOptions) { o.Endpoint = closedPort }, classification{}, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := open(t, c.bucket, c.tweak).Check(ctx)
			var be *s3sink.BucketError
			if !errors.As(err, &be) {
				t.Fatalf("Check = %v, want a *BucketError", err)
			}
			if got := classify(be); got != c.want {
				t.Errorf("Check = %v: classified %+v, want %+v", err, got, c.want)
			}
			if c.code != "" && be.Code != c.code {
				t.Errorf("Check = %v: code %q, want %q", err, be.Code, c.code)
			}
			if be.S3Bucket() != c.bucket || !strings.Contains(err.Error(), "s3://"+c.bucket) {
				t.Errorf("Check = %v: does not name bucket %q", err, c.bucket)
			}
			if be.S3Action() != "s3:ListBucket" {
				t.Errorf("S3Action = %q, want s3:ListBucket", be.S3Action())
			}
			wantFailure(t, err, c.failure, c.bucket, "s3:ListBucket", be.Code)
			// The core matches without importing this package.
			var f interface {
				S3Bucket() string
				S3Action() string
				BucketNotFound() bool
				WrongRegion() bool
				AccessDenied() bool
				KMSKeyNotAccessible() bool
				RoleNotAssumable() bool
			}
			if !errors.As(fmt.Errorf("wrapped: %w", err), &f) {
				t.Error("errors.As on the documented interface fails")
			}
		})
	}
	t.Run("BucketInAnotherRegion", func(t *testing.T) {
		// The store names the bucket's region in HeadBucket's answer
		// (x-amz-bucket-region); versitygw names its own, so a proxy
		// rewrites it.
		p := newProxy(t, srv.Endpoint)
		p.ModifyResponse(func(r *http.Response) error {
			if r.Request.Method == http.MethodHead {
				r.Header.Set("X-Amz-Bucket-Region", "ap-southeast-2")
			}
			return nil
		})
		err := open(t, bucket, func(o *s3sink.ClientOptions) { o.Endpoint = p.URL() }).Check(ctx)
		var be *s3sink.BucketError
		if !errors.As(err, &be) || !be.WrongRegion() || be.Region != "ap-southeast-2" || be.ClientRegion != "us-east-1" {
			t.Fatalf("Check = %v, want WrongRegion naming ap-southeast-2", err)
		}
		if !strings.Contains(err.Error(), "ap-southeast-2") {
			t.Errorf("error %q does not name the bucket's region", err)
		}
		wantFailure(t, err, sink.ErrWrongRegion, bucket, "s3:ListBucket", "WrongRegion")
	})
}

// TestMissingBucketWrites: writing to a bucket that does not exist fails with
// BucketNotFound on the first request, small object or large.
func TestMissingBucketWrites(t *testing.T) {
	srv := testenv.S3(t)
	ctx := t.Context()
	s, err := s3sink.Open(ctx, newClient(t, clientOptions(srv, "")), "snapexport-no-such-bucket", &s3sink.Options{PartSize: part})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, part + 1} {
		err := sink.WriteObject(ctx, s, "a/b", data(30, n), nil)
		var be *s3sink.BucketError
		if !errors.As(err, &be) || !be.BucketNotFound() || be.Key != "a/b" {
			t.Errorf("%d bytes to a missing bucket: %v, want BucketNotFound", n, err)
		}
		wantFailure(t, err, sink.ErrNoSuchBucket, "snapexport-no-such-bucket", "s3:PutObject", "NoSuchBucket")
	}
	if _, err := s.NewReader(ctx, "a/b"); errors.Is(err, sink.ErrNotExist) {
		t.Errorf("NewReader in a missing bucket = %v: a missing bucket is not a missing object", err)
	}
}
