// Package dirsink is a [sink.Sink] over a local directory: each object is a
// regular file at root/key.
//
// # URL
//
//	file:///abs/dir              an absolute directory
//	file://localhost/abs/dir     the same (RFC 8089)
//	file://./rel/dir             relative to the working directory at open
//	file://../rel/dir            likewise
//
// Any other host is refused (file URLs are local), and so are query
// parameters, user information and fragments: the URL has no parameters.
// Percent-escapes are decoded ("file:///tmp/my%20dir"). The form
// "file:rel/dir" is not accepted because [sink.OpenURL] reads a string
// without "://" as an S3 bucket name. Importing the package registers the
// scheme "file"; [Open] is the explicit constructor. The directory is
// created (with its parents) if missing.
//
// # Atomic visibility
//
// A writer writes a temporary file named ".snapexport-tmp-<random>" in the
// directory of its key. Close fsyncs it, renames it to the key (or, with
// IfNotExists, hard-links it there, which fails if the key exists, so two
// racing writers cannot both win: [Sink.AtomicIfNotExists] reports true),
// and fsyncs the directory (and its parents up to root when the writer
// created directories), so a published object survives a crash. Temporary
// files are never listed, and keys whose last segment starts with
// ".snapexport-tmp-" are refused with [sink.ErrInvalidKey]. Cancelling the
// writer's context removes its temporary file at once, even if Close is
// never called. IfNotExists needs a file system with hard links.
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
package dirsink
