// Package dirsink is a [sink.Sink] over a local directory: each object is a
// regular file at root/key.
//
// # URL
//
//	file:///abs/dir              an absolute directory
//	file://localhost/abs/dir     the same (RFC 8089)
//
// Any other host is refused (file URLs are local), and so are query
// parameters, user information and fragments: the URL has no parameters.
// Relative forms are refused with a message giving file:///absolute/path:
// RFC 8089 has no relative file URLs, and "file://./x" (host ".", path
// "/x") is /x to other tools. [sink.OpenURL] refuses "file:rel" and
// "file:/x" likewise. Percent-escapes are decoded ("file:///tmp/my%20dir").
// Importing the package registers the scheme "file" ([Scheme]); [Open] is the explicit
// constructor, which also takes a relative path (resolved at Open).
//
// # Nothing is created until an object is written
//
// Open creates nothing; it only checks that the directory, or the nearest
// of its parents that exists, is a directory. The directory and its
// parents are created by the first write. Listing, reading, deleting and
// sweeping a directory that does not exist find nothing and create
// nothing, so describing tasks or a start refused before it writes leaves
// the file system as it was.
//
// # Atomic visibility and the temporary folder
//
// A writer writes a temporary file in the folder ".snapexport-tmp" directly
// under the root, at ".snapexport-tmp/<key>/<start>-<random>" (<start> is
// when the write began, in Unix nanoseconds, hexadecimal). The folder is
// outside every key's folder, so no reader of a table's folder ever meets a
// half-written file: DuckDB's glob matches names that start with a dot
// (read_parquet('<table>/1/*') fails on a ".tmp" file there), so a dot
// prefix next to the final file would not be enough, while Spark, Hive,
// Athena/Trino and Arrow datasets skip names starting with "." or "_" when
// they read the root. It is on the same file system as the objects, so
// the rename stays atomic. Close fsyncs the file, creates the key's folders,
// renames the file to the key (or, with IfNotExists, hard-links it there,
// which fails if the key exists, so two racing writers cannot both win:
// [Sink.AtomicIfNotExists] reports true), and fsyncs the folder (and its
// parents up to root when the writer created folders), so a published
// object survives a crash. The folders of ".snapexport-tmp" are removed when
// they empty, the folder itself included. List never shows the temporary
// folder, and keys with a segment starting with ".snapexport-tmp" are
// refused with [sink.ErrInvalidKey] (which also keeps the
// ".snapexport-tmp-<random>" files of earlier versions out of List).
// Cancelling the writer's context removes its temporary file at once, even
// if Close is never called. IfNotExists needs a file system with hard links.
//
// # Abandoned writes
//
// A process killed while writing leaves its temporary file.
// [Sink.Abandoned] (sink.Sweeper) yields the temporary files of keys under
// a prefix, with the key, the file's path relative to the root as ID and
// the start time; [Sink.Sweep] removes one (a missing one is not an error).
// Writes still in progress, in this or another process, are yielded too;
// a swept write's Close fails and publishes nothing.
//
// # Keys and the file system
//
// Keys are checked with [sink.ValidateKey], and every file operation goes
// through an [os.Root], so no key and no symbolic link inside root reaches
// outside it. Directories are created for keys as needed and removed again
// when a Delete or an aborted write leaves them empty, as S3 has no empty
// "directories". Objects are regular files: List does not follow symbolic
// links and skips anything that is not a regular file or a directory. A
// file system cannot hold both "a/b" and "a/b/c" as objects; writing the
// second fails.
//
// WriterOptions.ContentType is not stored: a directory has no place for it.
//
// # Store failures
//
// A root that cannot become a directory (it, or the nearest of its parents
// that exists, is a file) is what a missing bucket is to S3: Open fails at
// once, and if the root is replaced by a file after Open, NewWriter,
// NewReader, List, Delete and Abandoned fail, each with an error matching
// [sink.ErrNoSuchBucket]. A root that is merely missing is not a failure
// (see above). The OS refusing a call for permissions (EACCES, EPERM) or
// a read-only file system (EROFS) gives [sink.ErrAccessDenied]. Both give
// a *sink.OpError with the root's absolute path as Location, the call
// ("stat", "mkdir", "openat", "rename", ...) as Op and the errno's name as
// Code; the message stays dirsink's and the OS error stays reachable.
// Wrong region, KMS key and role failures do not apply to a directory.
package dirsink
