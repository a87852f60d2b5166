package s3sink_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

const roleARN = "arn:aws:iam::123456789012:role/rds-s3-export"

// fakeSTS stands in for STS on 127.0.0.1: it records AssumeRole calls and
// hands out the test server's keys as the role's temporary credentials
// (without a session token, which versitygw refuses).
type fakeSTS struct {
	srv                  *httptest.Server
	accessKey, secretKey string
	expiresIn            time.Duration // lifetime of the credentials it issues
	refuse               bool          // answer 403 AccessDenied

	mu    sync.Mutex
	calls []url.Values // the form of each call
	auth  []string     // the Authorization header of each call
}

func newFakeSTS(t *testing.T, accessKey, secretKey string, expiresIn time.Duration) *fakeSTS {
	f := &fakeSTS{accessKey: accessKey, secretKey: secretKey, expiresIn: expiresIn}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.PostForm)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if f.refuse {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>fake</RequestId></ErrorResponse>`, roleARN)
		return
	}
	// The expiry is data handed to the SDK, not a time the test asserts.
	exp := time.Now().Add(f.expiresIn).UTC().Format(time.RFC3339)
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken></SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/rds-s3-export/%s</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, f.accessKey, f.secretKey, exp, r.PostForm.Get("RoleSessionName"), r.PostForm.Get("RoleSessionName"))
}

func (f *fakeSTS) recorded() ([]url.Values, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...), append([]string(nil), f.auth...)
}

// roleClient is a client of the proxy whose base credentials the S3 server
// does not know: only the role's credentials work.
func roleClient(e *env, sts *fakeSTS) *s3sink.ClientOptions {
	co := clientOptions(e.srv, e.proxy.URL())
	co.Credentials = credentials.NewStaticCredentialsProvider("AKIDBASEEXAMPLE", "base-secret", "")
	co.RoleARN = roleARN
	co.RoleSessionName = s3sink.SessionName("export-task-1")
	co.STSEndpoint = sts.srv.URL
	return co
}

func TestAssumeRole(t *testing.T) {
	e := newEnv(t)
	sts := newFakeSTS(t, e.srv.AccessKey, e.srv.SecretKey, time.Hour)
	client := newClient(t, roleClient(e, sts))
	s, err := s3sink.Open(e.ctx, client, e.bucket, &s3sink.Options{PartSize: part})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(e.ctx); err != nil {
		t.Fatal(err)
	}
	writeMix(t, e, s)

	calls, auth := sts.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls for credentials valid an hour, want 1 (cached)", len(calls))
	}
	form := calls[0]
	if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != roleARN || form.Get("RoleSessionName") != "snapexport-export-task-1" {
		t.Errorf("AssumeRole request %v: want Action=AssumeRole, RoleArn=%s, RoleSessionName=snapexport-export-task-1", form, roleARN)
	}
	if !strings.Contains(auth[0], "Credential=AKIDBASEEXAMPLE/") {
		t.Errorf("AssumeRole was not signed with the base credentials: %q", auth[0])
	}
	reqs := e.proxy.Requests()
	if len(reqs) == 0 {
		t.Fatal("no S3 request went through the proxy")
	}
	for _, r := range reqs {
		if a := r.Header.Get("Authorization"); !strings.Contains(a, "Credential="+e.srv.AccessKey+"/") {
			t.Errorf("%s not signed with the role's access key: %q", r.Op, a)
		}
	}
	if _, ok := client.Options().Credentials.(*aws.CredentialsCache); !ok {
		t.Errorf("credentials provider is %T, want a refreshing *aws.CredentialsCache", client.Options().Credentials)
	}
}

// TestAssumeRoleRefresh: credentials that have expired are fetched again
// before the next request, so an export outlives its first session.
func TestAssumeRoleRefresh(t *testing.T) {
	e := newEnv(t)
	// Issued already inside the cache's expiry window: stale at once.
	sts := newFakeSTS(t, e.srv.AccessKey, e.srv.SecretKey, 30*time.Second)
	s := e.sink(nil, func(o *s3sink.ClientOptions) { *o = *roleClient(e, sts) })
	for i := range 3 {
		if err := sink.WriteObject(e.ctx, s, fmt.Sprintf("o%d", i), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if calls, _ := sts.recorded(); len(calls) < 3 {
		t.Errorf("%d AssumeRole calls for 3 requests with expired credentials, want one per request", len(calls))
	}
}

func TestAssumeRoleRefused(t *testing.T) {
	e := newEnv(t)
	sts := newFakeSTS(t, e.srv.AccessKey, e.srv.SecretKey, time.Hour)
	sts.refuse = true
	s := e.sink(nil, func(o *s3sink.ClientOptions) { *o = *roleClient(e, sts); o.MaxAttempts = 5 })
	err := s.Check(e.ctx)
	var be *s3sink.BucketError
	if !errors.As(err, &be) || !be.RoleNotAssumable() || !be.AccessDenied() || be.BucketNotFound() {
		t.Fatalf("Check with a refused AssumeRole = %v, want a *BucketError with RoleNotAssumable", err)
	}
	// One sentinel: the role, though AccessDenied is true too.
	wantFailure(t, err, sink.ErrRoleNotAssumable, e.bucket, "s3:ListBucket", "")
	if !strings.Contains(err.Error(), roleARN) {
		t.Errorf("error %q does not name the role", err)
	}
	if calls, _ := sts.recorded(); len(calls) != 1 {
		t.Errorf("%d AssumeRole calls for a 403, want 1", len(calls))
	}
	if n := len(e.proxy.Requests()); n != 0 {
		t.Errorf("%d S3 requests without credentials, want none", n)
	}
}

func TestAssumeRoleFromURL(t *testing.T) {
	e := newEnv(t)
	sts := newFakeSTS(t, e.srv.AccessKey, e.srv.SecretKey, time.Hour)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASEEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "base-secret")
	isolateAWSConfig(t)
	u := "s3://" + e.bucket + "/exports?endpoint=" + url.QueryEscape(e.proxy.URL()) + "&use_path_style=true&region=us-east-1" +
		"&role_arn=" + url.QueryEscape(roleARN) + "&role_session_name=" + s3sink.SessionName("t2") + "&sts_endpoint=" + url.QueryEscape(sts.srv.URL)
	s, err := sink.OpenURL(e.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteObject(e.ctx, s, "a.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	e.wantObject("exports/a.json", []byte("{}"))
	calls, _ := sts.recorded()
	if len(calls) != 1 || calls[0].Get("RoleArn") != roleARN || calls[0].Get("RoleSessionName") != "snapexport-t2" {
		t.Errorf("AssumeRole calls %v", calls)
	}
}

func TestSessionName(t *testing.T) {
	for in, want := range map[string]string{
		"export-1":              "snapexport-export-1",
		"a b/c":                 "snapexport-a-b-c",
		strings.Repeat("x", 80): "snapexport-" + strings.Repeat("x", 53),
	} {
		if got := s3sink.SessionName(in); got != want {
			t.Errorf("SessionName(%q) = %q, want %q", in, got, want)
		}
	}
}
