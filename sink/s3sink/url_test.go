package s3sink_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// isolateAWSConfig keeps the developer's ~/.aws and AWS_* variables out of
// a test.
func isolateAWSConfig(t *testing.T) {
	t.Helper()
	missing := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
}

// setEnvCredentials gives the SDK's default chain the test server's keys.
func setEnvCredentials(t *testing.T, srv testenv.S3Server) {
	t.Helper()
	isolateAWSConfig(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
}

func TestParseURL(t *testing.T) {
	type want struct {
		bucket string
		copts  s3sink.ClientOptions
		opts   s3sink.Options
	}
	for raw, w := range map[string]want{
		"s3://b":           {bucket: "b"},
		"s3://b/a/prefix/": {bucket: "b", opts: s3sink.Options{Prefix: "a/prefix"}},
		"s3://b?region=eu-west-3&endpoint=http://127.0.0.1:7070&use_path_style=true&disable_https=true&request_checksum_calculation=when_required&response_checksum_validation=when_required&max_attempts=7": {
			bucket: "b",
			copts: s3sink.ClientOptions{Region: "eu-west-3", Endpoint: "http://127.0.0.1:7070", UsePathStyle: true, DisableHTTPS: true,
				RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired, ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired, MaxAttempts: 7},
		},
		"s3://b?role_arn=arn:aws:iam::1:role/r&role_session_name=snapexport-t&external_id=x&sts_endpoint=http://127.0.0.1:1": {
			bucket: "b",
			copts:  s3sink.ClientOptions{RoleARN: "arn:aws:iam::1:role/r", RoleSessionName: "snapexport-t", ExternalID: "x", STSEndpoint: "http://127.0.0.1:1"},
		},
		"s3://b?kms_key_id=alias/k&part_size=16MiB&concurrency=8&conditional_writes=false": {
			bucket: "b", opts: s3sink.Options{KMSKeyID: "alias/k", PartSize: 16 << 20, Concurrency: 8, DisableConditionalWrites: true},
		},
		"s3://b?sse=AES256&part_size=6000000": {bucket: "b", opts: s3sink.Options{SSE: "AES256", PartSize: 6000000}},
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		bucket, copts, opts, err := s3sink.ParseURL(u)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", raw, err)
			continue
		}
		if bucket != w.bucket || !reflect.DeepEqual(copts, w.copts) || !reflect.DeepEqual(opts, w.opts) {
			t.Errorf("ParseURL(%q) =\n %q %+v %+v\nwant\n %q %+v %+v", raw, bucket, copts, opts, w.bucket, w.copts, w.opts)
		}
	}
}

func TestParseURLRefuses(t *testing.T) {
	for raw, wantMsg := range map[string]string{
		"s3:///prefix":                               "no bucket",
		"s3://key:secret@b":                          "credentials do not go in the URL",
		"s3://b?regoin=us-east-1":                    "unknown URL parameter(s) regoin",
		"s3://b?use_path_style=yes":                  "want true or false",
		"s3://b?part_size=big":                       "non-negative number",
		"s3://b?region=a&region=b":                   "given 2 times",
		"s3://b?request_checksum_calculation=always": "when_supported or when_required",
		"s3://b?conditional_writes=":                 "want true or false",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = s3sink.ParseURL(u)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", raw, err, wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error shows the secret: %v", raw, err)
		}
	}
}

func TestOpenURLRefuses(t *testing.T) {
	isolateAWSConfig(t)
	ctx := t.Context()
	for raw, wantMsg := range map[string]string{
		"s3://bucket-b": "no AWS region",
		"s3://bucket-b?region=us-east-1&part_size=1MiB":          "below S3's minimum",
		"s3://bucket-b/..?region=us-east-1":                      "invalid prefix",
		"s3://bucket-b?region=us-east-1&sse=DES":                 "unknown server-side encryption",
		"s3://bucket-b?region=us-east-1&sse=AES256&kms_key_id=k": "KMS key",
		// A malformed name is refused for what it is, before the missing
		// region it would lead to.
		"Bad_Bucket!":                      `invalid bucket name "Bad_Bucket!": a bucket name has only lowercase letters, digits, dots and hyphens; 'B' (uppercase) at byte 0`,
		"s3://Bad_Bucket!":                 `invalid bucket name "Bad_Bucket!"`,
		"s3://bad_bucket?region=eu-west-1": `'_' at byte 3`,
		"ab":                               "3 to 63 characters, this one 2",
		"-bucket":                          "begins and ends with a letter or digit",
		"my..bucket":                       "no two adjacent dots",
		"192.168.5.4":                      "not formatted as an IP address",
		"xn--bucket":                       `beginning with "xn--" are reserved`,
		"bucket--x-s3":                     `ending with "--x-s3" are reserved`,
	} {
		_, err := sink.OpenURL(ctx, raw)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("OpenURL(%q) = %v, want an error containing %q", raw, err, wantMsg)
		}
	}
}

func TestValidateBucketName(t *testing.T) {
	for _, ok := range []string{"abc", "my-export-bucket", "a.b.c", "snapexport-test-0123456789ab", strings.Repeat("a", 63), "1bucket", "bucket1"} {
		if err := s3sink.ValidateBucketName(ok); err != nil {
			t.Errorf("ValidateBucketName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a", strings.Repeat("a", 64), "Bucket", "buc_ket", "bucket.", ".bucket", "a..b", "10.0.0.1", "sthree-x", "amzn-s3-demo-x", "x-s3alias", "x--ol-s3", "x.mrap", "x--table-s3", "bu cket", "bücket"} {
		err := s3sink.ValidateBucketName(bad)
		if err == nil {
			t.Errorf("ValidateBucketName(%q) = nil, want an error", bad)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ValidateBucketName(%q) = %v, want the name in the message", bad, err)
		}
	}
}

// TestBareBucketName: a plain bucket name is AWS S3 with the default chains;
// opening makes no request.
func TestBareBucketName(t *testing.T) {
	isolateAWSConfig(t)
	t.Setenv("AWS_REGION", "eu-central-1")
	s, err := sink.OpenURL(t.Context(), "my-export-bucket")
	if err != nil {
		t.Fatal(err)
	}
	if s.Location() != "s3://my-export-bucket" {
		t.Errorf("Location = %q", s.Location())
	}
	ss := s.(*s3sink.Sink)
	if ss.Bucket() != "my-export-bucket" || ss.Client().Options().Region != "eu-central-1" {
		t.Errorf("bucket %q, region %q", ss.Bucket(), ss.Client().Options().Region)
	}
}

// TestOpenURLEndToEnd writes and reads through a URL with credentials from
// the environment, the documented way.
func TestOpenURLEndToEnd(t *testing.T) {
	srv := testenv.S3(t)
	bucket := srv.NewBucket(t)
	setEnvCredentials(t, srv)
	ctx := t.Context()
	s, err := sink.OpenURL(ctx, srv.URL(bucket)+"&request_checksum_calculation=when_required")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Location() != "s3://"+bucket {
		t.Errorf("Location = %q", s.Location())
	}
	if err := s.(sink.Checker).Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteObject(ctx, s, "x/y.json", []byte(`{"ok":true}`), nil); err != nil {
		t.Fatal(err)
	}
	got, err := sink.ReadObject(ctx, s, "x/y.json")
	if err != nil || string(got) != `{"ok":true}` {
		t.Fatalf("read back %q, %v", got, err)
	}
	withPrefix, err := sink.OpenURL(ctx, strings.Replace(srv.URL(bucket), "s3://"+bucket, "s3://"+bucket+"/x", 1))
	if err != nil {
		t.Fatal(err)
	}
	if withPrefix.Location() != "s3://"+bucket+"/x" {
		t.Errorf("Location = %q", withPrefix.Location())
	}
	got, err = sink.ReadObject(ctx, withPrefix, "y.json")
	if err != nil || string(got) != `{"ok":true}` {
		t.Fatalf("read back through the prefix %q, %v", got, err)
	}
}
