package s3sink_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

const kmsKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// writeMix writes what an export task writes: small metadata objects (one
// PutObject) and a data file over several parts.
func writeMix(t *testing.T, e *env, s sink.Sink) {
	t.Helper()
	if err := sink.WriteObject(e.ctx, s, "task/export_info_task.json", []byte(`{"a":1}`), &sink.WriterOptions{ContentType: "application/json", IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	payload := data(20, 2*part+3)
	if err := sink.WriteObject(e.ctx, s, "task/db/public.t/1/part-00000.gz.parquet", payload, nil); err != nil {
		t.Fatal(err)
	}
	e.wantObject("task/db/public.t/1/part-00000.gz.parquet", payload)
}

// TestSSEHeaders checks, at a recording proxy, the encryption headers of
// every request that creates an object. versitygw accepts and ignores them.
func TestSSEHeaders(t *testing.T) {
	const (
		sseHeader = "X-Amz-Server-Side-Encryption"
		keyHeader = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	)
	for _, c := range []struct {
		name    string
		opts    s3sink.Options
		wantSSE string
		wantKey string
	}{
		{"KMSKey", s3sink.Options{KMSKeyID: kmsKey}, "aws:kms", kmsKey},
		{"KMSDefaultKey", s3sink.Options{SSE: s3sink.SSEKMS}, "aws:kms", ""},
		{"SSES3", s3sink.Options{SSE: s3sink.SSES3}, "AES256", ""},
		{"None", s3sink.Options{}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			o := c.opts
			o.PartSize = part
			writeMix(t, e, e.sink(&o, nil))
			creates := 0
			for _, r := range e.proxy.Requests() {
				switch r.Op {
				case "PutObject", "CreateMultipartUpload":
					creates++
					if got := r.Header.Get(sseHeader); got != c.wantSSE {
						t.Errorf("%s %s: %s = %q, want %q", r.Op, r.Key, sseHeader, got, c.wantSSE)
					}
					if got := r.Header.Get(keyHeader); got != c.wantKey {
						t.Errorf("%s %s: %s = %q, want %q", r.Op, r.Key, keyHeader, got, c.wantKey)
					}
					if c.wantSSE != "" && !strings.Contains(strings.ToLower(r.Header.Get("Authorization")), "x-amz-server-side-encryption") {
						t.Errorf("%s %s: the encryption header is not signed", r.Op, r.Key)
					}
				case "UploadPart", "CompleteMultipartUpload":
					// S3 takes the encryption from CreateMultipartUpload
					// and refuses SSE-KMS headers on the other calls.
					if r.Header.Get(sseHeader) != "" || r.Header.Get(keyHeader) != "" {
						t.Errorf("%s carries encryption headers", r.Op)
					}
				}
			}
			if creates != 2 {
				t.Errorf("%d PutObject/CreateMultipartUpload requests, want 2", creates)
			}
		})
	}
	t.Run("FromURL", func(t *testing.T) {
		e := newEnv(t)
		setEnvCredentials(t, e.srv)
		u := "s3://" + e.bucket + "?endpoint=" + url.QueryEscape(e.proxy.URL()) + "&use_path_style=true&region=us-east-1&part_size=5MiB&kms_key_id=" + url.QueryEscape(kmsKey)
		s, err := sink.OpenURL(e.ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		writeMix(t, e, s)
		for _, r := range e.proxy.Requests() {
			if r.Op == "PutObject" || r.Op == "CreateMultipartUpload" {
				if r.Header.Get(sseHeader) != "aws:kms" || r.Header.Get(keyHeader) != kmsKey {
					t.Errorf("%s %s: encryption headers %q, %q", r.Op, r.Key, r.Header.Get(sseHeader), r.Header.Get(keyHeader))
				}
			}
		}
	})
}

// TestKMSKeyRejected: the proxy answers as AWS does for a key it cannot use
// (versitygw has no KMS); the error says it is the key, names the bucket and
// leaves nothing behind.
func TestKMSKeyRejected(t *testing.T) {
	for _, c := range []struct {
		name, code string
		status     int
		size       int
	}{
		{"NotFound_PutObject", "KMS.NotFoundException", 400, 100},
		{"Disabled_CreateMultipartUpload", "KMS.DisabledException", 400, part + 1},
		{"AccessDenied_PutObject", "AccessDenied", 403, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.proxy.SetRule(func(r recorded) *fault {
				if r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") == "bad-key" {
					return &fault{Status: c.status, Code: c.code, Message: "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: kms:GenerateDataKey on resource bad-key"}
				}
				return nil
			})
			s := e.sink(&s3sink.Options{PartSize: part, KMSKeyID: "bad-key"}, nil)
			err := sink.WriteObject(e.ctx, s, "obj", data(21, c.size), nil)
			var be *s3sink.BucketError
			if !errors.As(err, &be) || !be.KMSKeyNotAccessible() || be.AccessDenied() || be.S3Bucket() != e.bucket || be.S3Action() != "s3:PutObject" {
				t.Fatalf("write with a rejected KMS key = %v, want a *BucketError with KMSKeyNotAccessible", err)
			}
			wantFailure(t, err, sink.ErrKMSKeyUnusable, e.bucket, "s3:PutObject", c.code)
			e.wantNothing("obj")
		})
	}
}
