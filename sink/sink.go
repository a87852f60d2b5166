package sink

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Sink is a destination for objects: an S3 bucket, a local directory, memory.
// Its methods are safe for concurrent use. Keys are relative, "/"-separated
// paths ("task/db/public.t/1/part-00000-….gz.parquet").
type Sink interface {
	// NewWriter starts writing the object at key. The object must become
	// visible (to NewReader, List and other processes) only when the
	// writer's Close returns nil, and then all at once with exactly the bytes
	// written; an existing object at key is replaced atomically. If ctx is
	// cancelled before Close, or Close fails, nothing must become visible
	// and nothing must be left behind (temp files, multipart uploads). A
	// key that is not a valid relative path (empty, absolute, containing
	// "." or ".." segments, a backslash or a NUL) must be refused with an
	// error wrapping ErrInvalidKey.
	NewWriter(ctx context.Context, key string, opts *WriterOptions) (Writer, error)
	// NewReader opens the object at key. A missing object must give an error
	// wrapping ErrNotExist; an invalid key, one wrapping ErrInvalidKey.
	NewReader(ctx context.Context, key string) (io.ReadCloser, error)
	// List yields every visible object whose key starts with prefix, in
	// lexical key order. Objects being written must not be listed.
	List(ctx context.Context, prefix string) iter.Seq2[Object, error]
	// Delete removes the object at key. A missing object must give an error
	// wrapping ErrNotExist; an invalid key, one wrapping ErrInvalidKey.
	Delete(ctx context.Context, key string) error
	// Location describes the sink for records and messages, without
	// secrets: "s3://bucket", "file:///abs/dir", "mem://name". It is what
	// the task record shows as S3Bucket.
	Location() string
	// Close releases the sink.
	Close() error
}

// Writer writes one object. Write may buffer; it is not safe for concurrent
// use. Cancelling the context given to NewWriter aborts the object.
type Writer interface {
	io.Writer
	// Close finishes the object and makes it visible if nothing failed. It
	// must return an error wrapping context.Canceled (and publish nothing)
	// if the writer's context was cancelled first.
	Close() error
}

// WriterOptions tune one object. nil means the zero value.
type WriterOptions struct {
	// ContentType is stored where the sink keeps it ("application/json").
	ContentType string
	// IfNotExists makes Close fail with ErrExist, publishing nothing, when an
	// object already exists at key. Sinks that implement it atomically
	// report so through [ConditionalWriter]; others check then write.
	IfNotExists bool
}

// ConditionalWriter is implemented by sinks whose IfNotExists is atomic (two
// writers racing for one key: exactly one wins).
type ConditionalWriter interface {
	AtomicIfNotExists() bool
}

// Checker is implemented by sinks that can verify up front that the
// destination exists, is reachable and accepts writes (S3: HeadBucket and
// the bucket's region). The exporter calls it when a task starts, before it
// writes anything, and fails the task with the error, as RDS does.
type Checker interface {
	Check(ctx context.Context) error
}

// Object is one listed object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

var (
	// ErrNotExist is wrapped by errors for missing objects.
	ErrNotExist = errors.New("sink: object does not exist")
	// ErrExist is wrapped when IfNotExists finds an object.
	ErrExist = errors.New("sink: object already exists")
	// ErrInvalidKey is wrapped when a key is not a valid relative path.
	ErrInvalidKey = errors.New("sink: invalid key")
)

// WriteObject writes data to key in one call, for small objects such as the
// metadata files.
func WriteObject(ctx context.Context, s Sink, key string, data []byte, opts *WriterOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.NewWriter(ctx, key, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel()
		_ = w.Close()
		return err
	}
	return w.Close()
}

// ReadObject reads a whole object.
func ReadObject(ctx context.Context, s Sink, key string) ([]byte, error) {
	r, err := s.NewReader(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Abandoned is a write that began and neither finished nor was cleaned up:
// an incomplete S3 multipart upload, a dirsink temporary file left by a
// process that was killed. Nothing of it is visible through NewReader or List.
type Abandoned struct {
	// Key is the key the object was being written to.
	Key string
	// ID is the sink's own handle on it (the S3 upload ID, the temporary
	// file's name), for messages and for [Sweeper.Sweep].
	ID string
	// Started is when the write began, where the sink knows it.
	Started time.Time
}

// Sweeper is implemented by sinks where an interrupted write can leave
// something behind that List does not show. The exporter calls it when it
// resumes a task, on the task's own prefix only, and names in the task's
// warnings (key and ID) whatever it could not remove. dirsink, s3sink and
// memsink implement it; sinktest checks every "must" below.
type Sweeper interface {
	// Abandoned yields every abandoned write whose Key starts with prefix
	// (as List's prefix: not necessarily at a "/"). Writes still in
	// progress (in this or another process) may be yielded too: the caller
	// sweeps only prefixes it owns. Finished objects must not be yielded.
	Abandoned(ctx context.Context, prefix string) iter.Seq2[Abandoned, error]
	// Sweep removes one abandoned write, as Abandoned yielded it. One that
	// is already gone (swept, finished or aborted since) is not an error.
	// Once Sweep has returned nil, the write's own Close, should its
	// writer still be open (a process that stalled rather than died),
	// must fail and publish nothing. An error that means the write stays
	// is a *LeftoverError.
	Sweep(ctx context.Context, a Abandoned) error
}

// LeftoverError is wrapped by an error from [Writer.Close] or [Sink.Close]
// (s3sink: the abort of a multipart upload failed), or returned by
// [Sweeper.Sweep], when the sink could not remove what an aborted write left
// behind, after its own retries. The caller names Abandoned in its warnings
// so a person can remove it; errors.As finds every one in an errors.Join.
type LeftoverError struct {
	Abandoned Abandoned
	Err       error
}

func (e *LeftoverError) Error() string {
	return "sink: the abandoned write " + e.Abandoned.ID + " of " + e.Abandoned.Key + " could not be removed: " + e.Err.Error()
}

func (e *LeftoverError) Unwrap() error { return e.Err }
