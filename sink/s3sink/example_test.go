package s3sink_test

import (
	"context"
	"fmt"
	"log"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// Writing one object to an S3-compatible store with SSE-KMS. It needs a
// server, so it has no output to check.
func Example() {
	ctx := context.Background()
	client, err := s3sink.NewClient(ctx, &s3sink.ClientOptions{
		Endpoint:     "http://127.0.0.1:7070",
		UsePathStyle: true,
		MaxAttempts:  5,
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := s3sink.Open(ctx, client, "exports", &s3sink.Options{
		Prefix:   "nightly",
		KMSKeyID: "alias/exports",
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		log.Fatal(err)
	}
	w, err := s.NewWriter(ctx, "task-1/export_info_task-1.json", &sink.WriterOptions{ContentType: "application/json"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Write([]byte(`{"status":"COMPLETE"}`)); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil { // the object appears here, all at once
		log.Fatal(err)
	}
	fmt.Println(s.Location())
}

// Opening by URL, as the exporter does with S3BucketName. Opening makes no
// request; the first one will use credentials from the environment.
func Example_url() {
	ctx := context.Background()
	s, err := sink.OpenURL(ctx, "s3://exports/nightly?endpoint=http://127.0.0.1:7070&use_path_style=true&region=us-east-1&kms_key_id=alias/exports&role_arn=arn:aws:iam::123456789012:role/export")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(s.Location())
	// Output: s3://exports/nightly
}
