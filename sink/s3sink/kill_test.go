package s3sink_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// killedWriterEnv hands the child the server and bucket: endpoint, region,
// access key, secret key, bucket, separated by newlines. (The child is this
// test binary; the secret is the test server's, in the environment, never
// on a command line.)
const killedWriterEnv = "S3SINK_TEST_KILLED_WRITER"

// TestKilledWriterSwept: a process killed with SIGKILL in the middle of a
// multipart upload leaves the upload; another process's sink finds it by
// key with Abandoned and sweeps it, after which ListMultipartUploads is
// empty.
func TestKilledWriterSwept(t *testing.T) {
	if v := os.Getenv(killedWriterEnv); v != "" {
		killedWriter(strings.Split(v, "\n"))
		return
	}
	e := newEnv(t)
	testenv.RunAndKill(t, "TestKilledWriterSwept", killedWriterEnv+"="+strings.Join([]string{e.srv.Endpoint, e.srv.Region, e.srv.AccessKey, e.srv.SecretKey, e.bucket}, "\n"))

	s, err := s3sink.Open(e.ctx, newClient(t, clientOptions(e.srv, "")), e.bucket, &s3sink.Options{Prefix: "exports"})
	if err != nil {
		t.Fatal(err)
	}
	var found []sink.Abandoned
	for a, err := range s.Abandoned(e.ctx, "task/") {
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, a)
	}
	if len(found) != 1 || found[0].Key != "task/db/t/1/part-00000.gz.parquet" || found[0].ID == "" {
		t.Fatalf("Abandoned after the kill = %+v, want the killed upload of task/db/t/1/part-00000.gz.parquet", found)
	}
	if err := s.Sweep(e.ctx, found[0]); err != nil {
		t.Fatal(err)
	}
	e.wantNothing("exports/task/db/t/1/part-00000.gz.parquet")
}

// killedWriter is the child: it starts a multipart upload, says so, and
// waits for SIGKILL.
func killedWriter(v []string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(v) != 5 {
		fail(fmt.Errorf("%s: want 5 lines, got %d", killedWriterEnv, len(v)))
	}
	srv := testenv.S3Server{Endpoint: v[0], Region: v[1], AccessKey: v[2], SecretKey: v[3]}
	ctx := context.Background()
	client, err := s3sink.NewClient(ctx, &s3sink.ClientOptions{Region: srv.Region, Endpoint: srv.Endpoint, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		fail(err)
	}
	s, err := s3sink.Open(ctx, client, v[4], &s3sink.Options{Prefix: "exports", PartSize: part})
	if err != nil {
		fail(err)
	}
	w, err := s.NewWriter(ctx, "task/db/t/1/part-00000.gz.parquet", nil)
	if err != nil {
		fail(err)
	}
	// A full part and one byte more: the upload exists once Write returns.
	if _, err := w.Write(data(60, part+1)); err != nil {
		fail(err)
	}
	testenv.AwaitKill()
}
