package dirsink

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/snapexport/snapexport/sink"
)

// failure is a dirsink error that one of package sink's store failure
// sentinels classifies. Its message is err's; Unwrap yields err (which
// keeps the OS error reachable) and the *sink.OpError view the exporter
// matches on.
type failure struct {
	err error
	op  *sink.OpError
}

func (f *failure) Error() string   { return f.err.Error() }
func (f *failure) Unwrap() []error { return []error{f.err, f.op} }

// errNoRoot is what openRoot gives, without create, for a root directory
// that does not exist yet: not a failure, since the first write creates
// it (reads find nothing, lists are empty).
var errNoRoot = errors.New("dirsink: the directory does not exist yet")

// classify marks err as [sink.ErrAccessDenied] when the OS refused the
// call for lack of permission (EACCES, EPERM; EROFS, a read-only file
// system, refuses writes as surely), naming the call and the errno. Other
// errors, and errors already classified, are returned as they are.
func (s *Sink) classify(err error) error { return classify(s.dir, err) }

func classify(dir string, err error) error { return classifyOp(dir, syscallOf(err), err) }

// classifyOp is classify for an error whose message no longer holds the
// *fs.PathError (see osReason): op names the call.
func classifyOp(dir, op string, err error) error {
	var oe *sink.OpError
	if err == nil || errors.As(err, &oe) {
		return err
	}
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return err
	}
	return fail(dir, sink.ErrAccessDenied, op, err)
}

// fail classifies err, a failure of the call op on the root directory dir,
// with the store failure sentinel.
func fail(dir string, sentinel error, op string, err error) error {
	return &failure{err: err, op: &sink.OpError{Location: dir, Op: op, Code: errnoName(err), Err: sentinel}}
}

// syscallOf names the file system call that failed, as the os package's
// errors record it.
func syscallOf(err error) string {
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case errors.As(err, &pe):
		return pe.Op
	case errors.As(err, &le):
		return le.Op
	case errors.As(err, &se):
		return se.Syscall
	}
	return ""
}

// errnoName is the symbolic name of the errno in err ("EACCES"), "" when
// err holds none that a store failure is made of.
func errnoName(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch errno {
	case syscall.EACCES:
		return "EACCES"
	case syscall.EPERM:
		return "EPERM"
	case syscall.EROFS:
		return "EROFS"
	case syscall.ENOTDIR:
		return "ENOTDIR"
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EEXIST:
		return "EEXIST"
	}
	return ""
}
