package s3sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/snapexport/snapexport/sink"
)

// Compile-time checks of the interfaces the sink implements.
var (
	_ sink.Sink              = (*Sink)(nil)
	_ sink.ConditionalWriter = (*Sink)(nil)
	_ sink.Checker           = (*Sink)(nil)
	_ sink.Sweeper           = (*Sink)(nil)
	_ sink.Writer            = (*writer)(nil)
)

// S3 limits a multipart upload to 10,000 parts of at least 5 MiB (but the
// last).
const (
	MinPartSize = 5 << 20
	maxParts    = 10_000
)

// Defaults of [Options].
const (
	DefaultPartSize    = 8 << 20
	DefaultConcurrency = 4
)

// Server-side encryption modes for [Options.SSE].
const (
	SSEKMS = "aws:kms"
	SSES3  = "AES256"
)

// Options tune a [Sink]. The zero value is a sink at the bucket's root with
// 8 MiB parts, 4 part uploads at a time, the bucket's default encryption and
// atomic conditional writes.
type Options struct {
	// Prefix is prepended to every key, joined with "/": "exports/2026"
	// makes key "t/a.json" the object "exports/2026/t/a.json". It must be a
	// clean relative path (see sink.ValidateKey) or "".
	Prefix string
	// PartSize is the size of the parts of a multipart upload and the
	// largest object written with a single PutObject; at least 5 MiB (S3's
	// minimum). 0 is DefaultPartSize. An object can have 10,000 parts, so
	// the largest object is PartSize × 10,000 (80 GB by default).
	PartSize int64
	// Concurrency is the number of part buffers of one writer: one is
	// filled by Write while the others upload, so a writer holds at most
	// PartSize × Concurrency bytes. 0 is DefaultConcurrency.
	Concurrency int
	// SSE asks for server-side encryption of every object: SSEKMS
	// ("aws:kms") or SSES3 ("AES256"). "" is the bucket's default, or
	// SSEKMS when KMSKeyID is set.
	SSE string
	// KMSKeyID is the KMS key (id, ARN or alias) for SSE-KMS, sent as
	// x-amz-server-side-encryption-aws-kms-key-id with every PutObject and
	// CreateMultipartUpload.
	KMSKeyID string
	// DisableConditionalWrites makes IfNotExists a HeadObject before the
	// object is published instead of S3's conditional write (If-None-Match:
	// *), for stores that ignore the header. The check is then not atomic,
	// and AtomicIfNotExists reports false.
	DisableConditionalWrites bool
}

// Sink writes objects to one S3 bucket. Its methods are safe for concurrent
// use.
type Sink struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
	opts   Options
	region string // the client's

	checksum types.ChecksumAlgorithm // asked for on multipart uploads
	partPool sync.Pool               // *[]byte of capacity PartSize

	mu      sync.Mutex
	closed  bool
	writers map[*writer]struct{} // not yet finished: Close aborts them
}

// Open returns a sink over bucket, written through client. It checks the
// bucket name ([ValidateBucketName]) and the options but makes no request; [Sink.Check] verifies the bucket. The
// caller keeps ownership of client.
func Open(ctx context.Context, client *s3.Client, bucket string, opts *Options) (*Sink, error) {
	if client == nil {
		return nil, errors.New("s3sink: nil client")
	}
	if err := ValidateBucketName(bucket); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	prefix := strings.TrimSuffix(o.Prefix, "/")
	if prefix != "" {
		if err := sink.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("s3sink: invalid prefix %q: %w", o.Prefix, err)
		}
		prefix += "/"
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		return nil, fmt.Errorf("s3sink: part size %d is below S3's minimum of %d bytes (5 MiB)", o.PartSize, MinPartSize)
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = DefaultConcurrency
	case o.Concurrency < 0:
		return nil, fmt.Errorf("s3sink: negative concurrency %d", o.Concurrency)
	}
	if o.SSE == "" && o.KMSKeyID != "" {
		o.SSE = SSEKMS
	}
	switch o.SSE {
	case "", SSEKMS:
	case SSES3:
		if o.KMSKeyID != "" {
			return nil, fmt.Errorf("s3sink: a KMS key %q was given with SSE %q; use %q", o.KMSKeyID, o.SSE, SSEKMS)
		}
	default:
		return nil, fmt.Errorf("s3sink: unknown server-side encryption %q (want %q or %q)", o.SSE, SSEKMS, SSES3)
	}
	copts := client.Options()
	s := &Sink{client: client, bucket: bucket, prefix: prefix, opts: o, region: copts.Region, writers: map[*writer]struct{}{}}
	if copts.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired {
		// As the SDK's upload manager does: parts carry a CRC32 that
		// CompleteMultipartUpload lists, so the store checks every part.
		s.checksum = types.ChecksumAlgorithmCrc32
	}
	return s, nil
}

// Bucket is the bucket name.
func (s *Sink) Bucket() string { return s.bucket }

// Client is the S3 client the sink uses.
func (s *Sink) Client() *s3.Client { return s.client }

// Location is "s3://bucket" or "s3://bucket/prefix".
func (s *Sink) Location() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// AtomicIfNotExists reports whether IfNotExists is S3's atomic conditional
// write (If-None-Match: * on PutObject and CompleteMultipartUpload), true
// unless Options.DisableConditionalWrites.
func (s *Sink) AtomicIfNotExists() bool { return !s.opts.DisableConditionalWrites }

// Close aborts every writer still open (as a cancellation of its context
// would) and waits for the aborts of their multipart uploads, so a process
// that stops — cancelled, interrupted, failed — leaves no incomplete upload
// once Close returns. A writer whose Close is publishing is waited for.
// The error joins those of the aborts that failed, each wrapping a
// *sink.LeftoverError that names the key and upload ID. Later NewWriter
// calls fail; the client belongs to the caller and stays open.
func (s *Sink) Close() error {
	s.mu.Lock()
	s.closed = true
	open := make([]*writer, 0, len(s.writers))
	for w := range s.writers {
		open = append(open, w)
	}
	s.mu.Unlock()
	// At once for all: each abort first waits for its parts in flight.
	errs := make([]error, len(open))
	var wg sync.WaitGroup
	for i, w := range open {
		wg.Go(func() { errs[i] = w.abortBySink() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// errSinkClosed fails the writers that Sink.Close aborts.
var errSinkClosed = errors.New("s3sink: the sink was closed while the object was being written")

// track adds a writer to those Close aborts; it fails once the sink is
// closed.
func (s *Sink) track(w *writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("s3sink: writing %q: %w", w.location(), errSinkClosed)
	}
	s.writers[w] = struct{}{}
	return nil
}

func (s *Sink) untrack(w *writer) {
	s.mu.Lock()
	delete(s.writers, w)
	s.mu.Unlock()
}

// Check verifies that the bucket exists, that the credentials may use it
// (HeadBucket, which needs s3:ListBucket; after a refusal, a one-key
// ListObjectsV2 for the store's error code) and, when the store names the
// bucket's region, that it is the client's. Its error is a *BucketError
// whose methods say which (BucketNotFound, WrongRegion, AccessDenied,
// RoleNotAssumable).
func (s *Sink) Check(ctx context.Context) error {
	out, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil {
		be := newBucketError("HeadBucket", s.bucket, "", s.region, err)
		if be.StatusCode != 0 && !be.role {
			// A HEAD answer has no body, so no error code: 404 may be a
			// missing bucket or (on some stores) an unknown access key,
			// 400 a wrong signing region. A one-key listing, which needs
			// the same permission, gets the store's own code.
			_, lerr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(1)})
			if lerr != nil {
				if le := newBucketError("ListObjectsV2", s.bucket, "", s.region, lerr); le.Code != "" {
					return le
				}
			}
		}
		return be
	}
	if got := aws.ToString(out.BucketRegion); got != "" && s.region != "" && !sameRegion(got, s.region) {
		return &BucketError{Op: "HeadBucket", Bucket: s.bucket, Code: "WrongRegion", Region: got, ClientRegion: s.region}
	}
	return nil
}

// sameRegion compares regions, where S3's legacy "US" and "" mean
// us-east-1 and "EU" means eu-west-1.
func sameRegion(a, b string) bool {
	norm := func(r string) string {
		switch r {
		case "", "US":
			return "us-east-1"
		case "EU":
			return "eu-west-1"
		}
		return r
	}
	return norm(a) == norm(b)
}

func (s *Sink) wrap(op, key string, err error) error {
	return newBucketError(op, s.bucket, key, s.region, err)
}

// objectKey validates key and prepends the prefix.
func (s *Sink) objectKey(key string) (string, error) {
	if err := sink.ValidateKey(key); err != nil {
		return "", fmt.Errorf("s3sink: %w", err)
	}
	return s.prefix + key, nil
}

// NewReader opens the object at key with GetObject.
func (s *Sink) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	full, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &full})
	if err != nil {
		return nil, s.wrap("GetObject", full, err)
	}
	return out.Body, nil
}

// List yields the objects under prefix with ListObjectsV2, which S3 returns
// in lexical (UTF-8 byte) order.
func (s *Sink) List(ctx context.Context, prefix string) iter.Seq2[sink.Object, error] {
	return func(yield func(sink.Object, error) bool) {
		full := s.prefix + prefix
		p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(sink.Object{}, s.wrap("ListObjectsV2", full, err))
				return
			}
			for _, o := range page.Contents {
				key := aws.ToString(o.Key)
				if !strings.HasPrefix(key, s.prefix) {
					continue
				}
				obj := sink.Object{Key: key[len(s.prefix):], Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}
				if !yield(obj, nil) {
					return
				}
			}
		}
	}
}

// Delete removes the object at key. S3's DeleteObject succeeds on a missing
// key, so a HeadObject first tells a missing object (sink.ErrNotExist)
// apart.
func (s *Sink) Delete(ctx context.Context, key string) error {
	full, err := s.objectKey(key)
	if err != nil {
		return err
	}
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &full}); err != nil {
		return s.wrap("HeadObject", full, err)
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &full}); err != nil {
		return s.wrap("DeleteObject", full, err)
	}
	return nil
}

// Upload is a multipart upload that is in progress or was left behind.
type Upload struct {
	Key       string // full object key, the sink's prefix included
	UploadID  string
	Initiated time.Time
}

// IncompleteUploads lists the multipart uploads in progress (or left
// behind) under prefix, with ListMultipartUploads. A writer leaves none
// once its Close has returned, or once its context is cancelled and the
// abort is done.
func (s *Sink) IncompleteUploads(ctx context.Context, prefix string) ([]Upload, error) {
	full := s.prefix + prefix
	var out []Upload
	p := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &full})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, s.wrap("ListMultipartUploads", full, err)
		}
		for _, u := range page.Uploads {
			out = append(out, Upload{Key: aws.ToString(u.Key), UploadID: aws.ToString(u.UploadId), Initiated: aws.ToTime(u.Initiated)})
		}
	}
	return out, nil
}

// Abandoned implements [sink.Sweeper] with ListMultipartUploads: every
// incomplete multipart upload under prefix (relative to the sink's
// prefix), whether its writer was killed or is still writing. ID is the
// upload ID, Started its Initiated time. An object that fits in one part
// is a single PutObject, so it never leaves anything to sweep.
func (s *Sink) Abandoned(ctx context.Context, prefix string) iter.Seq2[sink.Abandoned, error] {
	return func(yield func(sink.Abandoned, error) bool) {
		full := s.prefix + prefix
		p := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &full})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx, cleanupRetries)
			if err != nil {
				yield(sink.Abandoned{}, s.wrap("ListMultipartUploads", full, err))
				return
			}
			for _, u := range page.Uploads {
				key, ok := strings.CutPrefix(aws.ToString(u.Key), s.prefix)
				if !ok || !strings.HasPrefix(key, prefix) {
					continue
				}
				a := sink.Abandoned{Key: key, ID: aws.ToString(u.UploadId), Started: aws.ToTime(u.Initiated)}
				if !yield(a, nil) {
					return
				}
			}
		}
	}
}

// Sweep implements [sink.Sweeper]: it aborts the multipart upload a
// names, with the cleanup retries (see [NewRetryer]), and checks with
// ListParts that it is gone, aborting again if a part still in flight
// brought it back. An upload already gone is not an error. A failure is a
// *sink.LeftoverError.
func (s *Sink) Sweep(ctx context.Context, a sink.Abandoned) error {
	full, err := s.objectKey(a.Key)
	if err != nil {
		return err
	}
	if a.ID == "" {
		return fmt.Errorf("s3sink: sweeping %q: no upload ID", a.Key)
	}
	ctx, cancel := context.WithTimeout(ctx, abortTimeout)
	defer cancel()
	if err := s.abortUpload(ctx, full, a.ID); err != nil {
		return &sink.LeftoverError{Abandoned: a, Err: fmt.Errorf("s3sink: the incomplete multipart upload %q of %q could not be aborted; it stays until AbortMultipartUpload or a bucket lifecycle rule removes it: %w",
			a.ID, "s3://"+s.bucket+"/"+full, err)}
	}
	return nil
}

// putPart keeps a full-size buffer for the next writer.
func (s *Sink) putPart(b []byte) {
	if int64(cap(b)) == s.opts.PartSize {
		b = b[:0]
		s.partPool.Put(&b)
	}
}
