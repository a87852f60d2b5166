package s3sink

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/snapexport/snapexport/sink"
)

const (
	// finishTimeout bounds the request that publishes an object
	// (PutObject, CompleteMultipartUpload). It does not follow the
	// writer's context: once Close has decided to publish, the outcome
	// must be known, not abandoned half way.
	finishTimeout = 10 * time.Minute
	// abortTimeout bounds the abort of one upload, its retries and checks
	// included, sent on a fresh context because the writer's is usually
	// the cancelled one.
	abortTimeout = 2 * time.Minute
	// cleanupAttempts is the attempts of each cleanup request
	// (AbortMultipartUpload, ListParts, ListMultipartUploads); with the
	// backoff of NewRetryer they outlast an outage of about a minute.
	cleanupAttempts = 12
	// abortRounds bounds the aborts of one upload: a part the store was
	// still storing when the upload was aborted can bring it back (S3:
	// "it might be necessary to abort a given multipart upload multiple
	// times"), which ListParts tells.
	abortRounds = 4
	// drainTimeout is how long part uploads in flight may go on after the
	// writer failed or was cancelled, before they are cut.
	drainTimeout = 30 * time.Second
	// firstBufferSize is where the first part buffer starts when no
	// pooled buffer is free: most objects of an export (the metadata files)
	// are far smaller than a part.
	firstBufferSize = 64 << 10
	// conflictRetries bounds the retries of a conditional write that S3
	// answered 409 ConditionalRequestConflict (another conditional write
	// to the key was in progress).
	conflictRetries = 3
)

// NewWriter starts the object at key. Bytes go to the store as they are
// written: up to PartSize they are held in memory, and the object is one
// PutObject at Close; beyond, a multipart upload is created and every full
// part is uploaded while the next is filled, Concurrency buffers at most.
// Close completes the upload, which makes the object visible all at once.
// If the context is cancelled before Close, or anything fails, the upload is
// aborted (with a fresh context) and nothing is published.
//
// IfNotExists sends If-None-Match: * with PutObject or
// CompleteMultipartUpload, so the store refuses atomically (412) when the
// key exists; Close then fails with an error wrapping sink.ErrExist.
func (s *Sink) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	full, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	w := &writer{s: s, ctx: ctx, key: full, rel: key, started: time.Now(), free: make(chan []byte, s.opts.Concurrency), failed: make(chan struct{}), finished: make(chan struct{})}
	if opts != nil {
		w.opts = *opts
	}
	if err := ctx.Err(); err != nil {
		return nil, w.cancelledErr()
	}
	if err := s.track(w); err != nil {
		return nil, err
	}
	// Part uploads do not follow ctx: see drainTimeout.
	w.partCtx, w.cancelParts = context.WithCancel(context.WithoutCancel(ctx))
	w.stopWatch = context.AfterFunc(ctx, w.onCancel)
	return w, nil
}

// writer streams one object. Write and Close run on the caller's
// goroutine; part uploads and the cancellation callback on their own, and
// share the fields under mu with it.
type writer struct {
	s    *Sink
	ctx  context.Context
	key  string // full key
	rel  string // the key as given, for sink.Abandoned
	opts sink.WriterOptions

	started  time.Time
	finished chan struct{} // closed when Close has returned

	buf      []byte // the part being filled, nil when none
	nbufs    int    // part buffers this writer holds: filling, uploading, free
	free     chan []byte
	closed   bool
	closeErr error

	partCtx     context.Context // ctx's values; cancelled drainTimeout after the first failure
	cancelParts context.CancelFunc
	drainTimer  *time.Timer
	stopWatch   func() bool // stops onCancel

	mu       sync.Mutex
	uploadID string // "" until the multipart upload exists
	nextPart int32
	parts    []types.CompletedPart
	err      error         // the first failure
	failed   chan struct{} // closed when err is set
	closing  bool          // Close owns the end of the object
	inflight sync.WaitGroup

	abortOnce sync.Once
	abortErr  error
}

func (w *writer) location() string { return "s3://" + w.s.bucket + "/" + w.key }

func (w *writer) cancelledErr() error {
	return fmt.Errorf("s3sink: writing %q abandoned: %w", w.location(), w.ctx.Err())
}

// Write copies p into the part buffer, handing full parts to uploads.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("s3sink: write to %q after Close", w.location())
	}
	if err := w.failure(); err != nil {
		return 0, err
	}
	ps := int(w.s.opts.PartSize)
	n := 0
	for len(p) > 0 {
		if len(w.buf) == ps {
			// A full part is sent only once more bytes come, so an object
			// of exactly one part is still a single PutObject.
			if err := w.sendPart(); err != nil {
				return n, err
			}
		}
		if w.buf == nil {
			b, err := w.getBuffer()
			if err != nil {
				return n, err
			}
			w.buf = b
		}
		c := min(ps-len(w.buf), len(p))
		w.buf = appendCapped(w.buf, p[:c], ps)
		p = p[c:]
		n += c
	}
	return n, nil
}

// appendCapped appends data to b, growing it geometrically but never past
// limit, so a buffer that fills up is exactly one part and can be pooled.
func appendCapped(b, data []byte, limit int) []byte {
	if need := len(b) + len(data); need > cap(b) {
		nb := make([]byte, len(b), min(max(2*cap(b), need), limit))
		copy(nb, b)
		b = nb
	}
	return append(b, data...)
}

// getBuffer returns an empty part buffer, waiting for an upload to free one
// when the writer holds Concurrency of them.
func (w *writer) getBuffer() ([]byte, error) {
	select {
	case b := <-w.free:
		return b[:0], nil
	default:
	}
	if w.nbufs < w.s.opts.Concurrency {
		w.nbufs++
		if b, ok := w.s.partPool.Get().(*[]byte); ok {
			return (*b)[:0], nil
		}
		if w.nbufs == 1 && w.nextPart == 0 {
			return make([]byte, 0, min(firstBufferSize, int(w.s.opts.PartSize))), nil
		}
		return make([]byte, 0, w.s.opts.PartSize), nil
	}
	select {
	case b := <-w.free:
		return b[:0], nil
	case <-w.failed:
		return nil, w.failure()
	}
}

// failure returns the first failure, if any.
func (w *writer) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// fail records the first failure and stops the other part uploads. A
// failure caused by the writer's cancelled context is reported as the
// cancellation.
func (w *writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failLocked(err)
}

func (w *writer) failLocked(err error) {
	if w.err != nil {
		return
	}
	if w.ctx.Err() != nil {
		err = w.cancelledErr()
	}
	w.err = err
	close(w.failed)
	// The parts in flight are left to finish, so that none is still
	// being stored when the abort comes (a store may then keep it, and
	// the upload with it); only a part that takes too long is cut.
	w.drainTimer = time.AfterFunc(drainTimeout, w.cancelParts)
}

// onCancel runs when the writer's context is cancelled before Close: it
// aborts the upload so nothing is left behind even if Close never comes.
func (w *writer) onCancel() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.failLocked(w.cancelledErr())
	w.mu.Unlock()
	_ = w.abort()
	w.s.untrack(w)
}

// abortBySink is Sink.Close's end of a writer: a writer whose Close is
// publishing is waited for; any other fails and is aborted. It returns the
// abort's failure.
func (w *writer) abortBySink() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.finished
		return nil
	}
	w.failLocked(fmt.Errorf("s3sink: writing %q: %w", w.location(), errSinkClosed))
	w.mu.Unlock()
	return w.abort()
}

// sendPart hands the full buffer to a part upload, creating the multipart
// upload first if needed.
func (w *writer) sendPart() error {
	b := w.buf
	w.buf = nil
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		w.free <- b
		return err
	}
	if w.uploadID == "" {
		// Under mu, so onCancel, which waits for it, sees the upload
		// and aborts it.
		id, err := w.createUpload()
		if err != nil {
			w.failLocked(err)
			err = w.err
			w.mu.Unlock()
			w.free <- b
			return err
		}
		w.uploadID = id
	}
	if w.nextPart == maxParts {
		w.failLocked(fmt.Errorf("s3sink: %q is larger than %d parts of %d bytes; raise the part size", w.location(), maxParts, w.s.opts.PartSize))
		err := w.err
		w.mu.Unlock()
		w.free <- b
		return err
	}
	w.nextPart++
	num, id := w.nextPart, w.uploadID
	w.inflight.Add(1)
	w.mu.Unlock()
	go w.uploadPart(id, num, b)
	return nil
}

// createUpload starts the multipart upload. Its request does not follow the
// writer's context: cancelled half way, the store could hold an upload whose
// ID the sink never learnt, and could not abort.
func (w *writer) createUpload() (string, error) {
	if w.ctx.Err() != nil {
		return "", w.cancelledErr()
	}
	in := &s3.CreateMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key, ChecksumAlgorithm: w.s.checksum}
	if w.opts.ContentType != "" {
		in.ContentType = aws.String(w.opts.ContentType)
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = w.s.sse()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), finishTimeout)
	defer cancel()
	out, err := w.s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", w.s.wrap("CreateMultipartUpload", w.key, err)
	}
	return aws.ToString(out.UploadId), nil
}

func (s *Sink) sse() (types.ServerSideEncryption, *string) {
	var keyID *string
	if s.opts.KMSKeyID != "" {
		keyID = aws.String(s.opts.KMSKeyID)
	}
	return types.ServerSideEncryption(s.opts.SSE), keyID
}

func (w *writer) uploadPart(id string, num int32, b []byte) {
	defer w.inflight.Done()
	out, err := w.s.client.UploadPart(w.partCtx, &s3.UploadPartInput{
		Bucket:            &w.s.bucket,
		Key:               &w.key,
		UploadId:          &id,
		PartNumber:        aws.Int32(num),
		Body:              bytes.NewReader(b),
		ContentLength:     aws.Int64(int64(len(b))),
		ChecksumAlgorithm: w.s.checksum,
	})
	// The SDK is done with the body once the call returns (it closes its
	// wrapper of it after every attempt), so the buffer can be refilled.
	w.free <- b
	if err != nil {
		w.fail(w.s.wrap("UploadPart", w.key, err))
		return
	}
	part := types.CompletedPart{
		PartNumber:        aws.Int32(num),
		ETag:              out.ETag,
		ChecksumCRC32:     out.ChecksumCRC32,
		ChecksumCRC32C:    out.ChecksumCRC32C,
		ChecksumCRC64NVME: out.ChecksumCRC64NVME,
		ChecksumSHA1:      out.ChecksumSHA1,
		ChecksumSHA256:    out.ChecksumSHA256,
	}
	w.mu.Lock()
	w.parts = append(w.parts, part)
	w.mu.Unlock()
}

// Close publishes the object: one PutObject for an object that fits in a
// part, else the last part and CompleteMultipartUpload. After a cancellation
// or a failure it aborts the upload and returns the error.
func (w *writer) Close() error {
	if w.closed {
		if w.closeErr != nil {
			return w.closeErr
		}
		return fmt.Errorf("s3sink: %q closed twice", w.location())
	}
	w.closed = true
	w.closeErr = w.finish()
	close(w.finished)
	w.s.untrack(w)
	return w.closeErr
}

func (w *writer) finish() error {
	w.stopWatch()
	defer w.release()
	w.mu.Lock()
	w.closing = true
	if w.ctx.Err() != nil {
		w.failLocked(w.cancelledErr())
	}
	err, id := w.err, w.uploadID
	w.mu.Unlock()
	if err != nil {
		return w.abandon(err)
	}
	if id == "" {
		return w.putObject()
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			return w.abandon(err)
		}
	}
	w.inflight.Wait()
	w.mu.Lock()
	if w.ctx.Err() != nil {
		w.failLocked(w.cancelledErr())
	}
	err = w.err
	parts := slices.Clone(w.parts)
	w.mu.Unlock()
	if err != nil {
		return w.abandon(err)
	}
	if err := w.complete(id, parts); err != nil {
		return w.abandon(err)
	}
	return nil
}

// release returns the part buffers to the sink's pool.
func (w *writer) release() {
	w.cancelParts()
	w.mu.Lock()
	if w.drainTimer != nil {
		w.drainTimer.Stop()
	}
	w.mu.Unlock()
	if w.buf != nil {
		w.s.putPart(w.buf)
		w.buf = nil
	}
	for {
		select {
		case b := <-w.free:
			w.s.putPart(b)
		default:
			return
		}
	}
}

// abandon aborts the upload and returns err, with the abort's failure if
// the upload could not be aborted.
func (w *writer) abandon(err error) error {
	if aerr := w.abort(); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// abort waits for the part uploads to end, then aborts the multipart upload
// if there is one. It runs once; concurrent callers wait for it.
func (w *writer) abort() error {
	w.abortOnce.Do(func() {
		w.inflight.Wait()
		w.mu.Lock()
		id := w.uploadID
		w.mu.Unlock()
		if id == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
		defer cancel()
		if err := w.s.abortUpload(ctx, w.key, id); err != nil {
			w.abortErr = &sink.LeftoverError{
				Abandoned: sink.Abandoned{Key: w.rel, ID: id, Started: w.started},
				Err: fmt.Errorf("s3sink: the incomplete multipart upload %q of %q could not be aborted; it stays until AbortMultipartUpload or a bucket lifecycle rule removes it: %w",
					id, w.location(), err),
			}
		}
	})
	return w.abortErr
}

// cleanupRetries gives a cleanup request its own retryer, not the
// client's: more attempts, and no budget shared with the data requests.
func cleanupRetries(o *s3.Options) {
	o.Retryer = NewRetryer(cleanupAttempts)
	o.RetryMaxAttempts = 0
}

// abortUpload aborts the upload of the full key, then checks with
// ListParts that it is gone and aborts again if a late part brought it
// back.
func (s *Sink) abortUpload(ctx context.Context, key, id string) error {
	pause := 50 * time.Millisecond
	for round := 1; ; round++ {
		// When the store blinks, the abort is what keeps an incomplete
		// upload from staying behind.
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &id}, cleanupRetries)
		if err != nil && !isCode(err, "NoSuchUpload") {
			return s.wrap("AbortMultipartUpload", key, err)
		}
		_, err = s.client.ListParts(ctx, &s3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &id, MaxParts: aws.Int32(1)}, cleanupRetries)
		switch {
		case isCode(err, "NoSuchUpload"):
			return nil
		case err != nil:
			return nil // cannot tell (no s3:ListMultipartUploadParts); the abort itself succeeded
		case round == abortRounds:
			return fmt.Errorf("still listed after %d aborts", round)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause *= 4
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// finishContext is the context of the publishing request: the writer's
// values, not its cancellation, and a bound.
func (w *writer) finishContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(w.ctx), finishTimeout)
}

// putObject publishes an object that fits in one part.
func (w *writer) putObject() error {
	ctx, cancel := w.finishContext()
	defer cancel()
	conditional := w.opts.IfNotExists && !w.s.opts.DisableConditionalWrites
	if w.opts.IfNotExists && !conditional {
		if err := w.checkMissing(ctx); err != nil {
			return err
		}
	}
	var attempts atomic.Int32
	var err error
	for try := 0; try <= conflictRetries; try++ {
		in := &s3.PutObjectInput{Bucket: &w.s.bucket, Key: &w.key, Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))}
		if w.opts.ContentType != "" {
			in.ContentType = aws.String(w.opts.ContentType)
		}
		in.ServerSideEncryption, in.SSEKMSKeyId = w.s.sse()
		if conditional {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = w.s.client.PutObject(ctx, in, countAttempts(&attempts))
		if err == nil || !conditional || !isConditionalConflict(err) {
			break
		}
	}
	if err == nil {
		return nil
	}
	if conditional && attempts.Load() > 1 && isPreconditionFailed(err) {
		// An earlier attempt may have stored the object and lost its
		// answer (a connection reset); the retry then finds "it" there.
		sum := md5.Sum(w.buf)
		if w.isOurs(ctx, `"`+hex.EncodeToString(sum[:])+`"`) {
			return nil
		}
	}
	return w.s.wrap("PutObject", w.key, err)
}

// complete publishes the multipart upload.
func (w *writer) complete(id string, parts []types.CompletedPart) error {
	ctx, cancel := w.finishContext()
	defer cancel()
	conditional := w.opts.IfNotExists && !w.s.opts.DisableConditionalWrites
	if w.opts.IfNotExists && !conditional {
		if err := w.checkMissing(ctx); err != nil {
			return err
		}
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	var attempts atomic.Int32
	var err error
	for try := 0; try <= conflictRetries; try++ {
		in := &s3.CompleteMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
		if conditional {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = w.s.client.CompleteMultipartUpload(ctx, in, countAttempts(&attempts))
		if err == nil || !conditional || !isConditionalConflict(err) {
			break
		}
	}
	if err == nil {
		return nil
	}
	if attempts.Load() > 1 && (isCode(err, "NoSuchUpload") || conditional && isPreconditionFailed(err)) {
		// An earlier attempt completed the upload and lost its answer:
		// the retry finds no upload (or, conditional, an object).
		if etag, ok := multipartETag(parts); ok && w.isOurs(ctx, etag) {
			return nil
		}
	}
	return w.s.wrap("CompleteMultipartUpload", w.key, err)
}

// checkMissing is IfNotExists without conditional writes: a HeadObject just
// before publishing, not atomic.
func (w *writer) checkMissing(ctx context.Context) error {
	_, err := w.s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &w.s.bucket, Key: &w.key})
	if err == nil {
		return &BucketError{Op: "HeadObject", Bucket: w.s.bucket, Key: w.key, Code: "PreconditionFailed", ClientRegion: w.s.region, sentinel: sink.ErrExist}
	}
	if be := w.s.wrap("HeadObject", w.key, err).(*BucketError); be.Code != "NoSuchKey" {
		return be
	}
	return nil
}

// isOurs reports whether the object at the key has the given ETag.
func (w *writer) isOurs(ctx context.Context, etag string) bool {
	out, err := w.s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &w.s.bucket, Key: &w.key})
	return err == nil && strings.EqualFold(aws.ToString(out.ETag), etag)
}

func isPreconditionFailed(err error) bool {
	var be *BucketError
	if errors.As(err, &be) {
		return be.sentinel == sink.ErrExist
	}
	return isCode(err, "PreconditionFailed")
}

// multipartETag is the ETag S3 gives a completed multipart upload: the MD5
// of the parts' binary MD5s, a dash, the number of parts. ok is false when
// a part ETag is not an MD5 (SSE-KMS on AWS, some stores).
func multipartETag(parts []types.CompletedPart) (string, bool) {
	h := md5.New()
	for _, p := range parts {
		sum, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(sum) != md5.Size {
			return "", false
		}
		h.Write(sum)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)) + `"`, true
}

// countAttempts counts the attempts of one call, retries included.
func countAttempts(n *atomic.Int32) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			// After the retry middleware: once per attempt.
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("s3sinkCountAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					n.Add(1)
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
}
