package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/snapexport/snapexport"
)

// startupTimeout bounds how long --no-wait waits for the background process
// to record its task.
const startupTimeout = 2 * time.Minute

// startInBackground runs the same command without --no-wait in a new
// session (so it outlives the terminal), waits until the task's record
// appears in the destination, and prints it, the way the AWS CLI returns
// once the service has accepted the task. The child's output goes to a log
// file whose path is printed on stderr.
func startInBackground(ctx context.Context, args []string, in snapexport.StartExportTaskInput, out *outputFlags, stdout, stderr io.Writer) int {
	if strings.HasPrefix(in.S3BucketName, "mem://") {
		fmt.Fprintln(stderr, "snapexport: --no-wait needs a destination other processes can read; mem:// lives in one process")
		return exitUsage
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "snapexport: cannot find this program to start it in the background:", err)
		return exitFailed
	}
	childArgs := []string{"start-export-task"}
	for _, a := range args {
		if a != "--no-wait" && a != "-no-wait" && a != "--no-wait=true" {
			childArgs = append(childArgs, a)
		}
	}
	childArgs = append(childArgs, "--progress", "lines")
	// The log may hold table names and messages about the data: it is
	// the user's alone, in a directory only the user can enter.
	logDir, err := os.MkdirTemp("", "snapexport-"+in.ExportTaskIdentifier+"-")
	if err != nil {
		fmt.Fprintln(stderr, "snapexport: cannot create the background process's log directory:", err)
		return exitFailed
	}
	logPath := filepath.Join(logDir, "export.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "snapexport: cannot create the background process's log:", err)
		return exitFailed
	}
	defer logFile.Close()
	launched := time.Now().Add(-time.Second)
	cmd, err := startChild(exe, in.ExportTaskIdentifier, childArgs, logFile)
	if err != nil {
		fmt.Fprintln(stderr, "snapexport: cannot start the background process:", err)
		return exitFailed
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	exp, err := snapexport.New(snapexport.Config{Destination: in.S3BucketName, DestinationPrefix: in.S3Prefix})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	defer exp.Close()
	deadline := time.Now().Add(startupTimeout)
	childDone := false
	for {
		page, err := exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: in.ExportTaskIdentifier})
		if err == nil && len(page.ExportTasks) == 1 {
			rec := page.ExportTasks[0]
			// A record from before this launch belongs to an earlier task.
			if rec.TaskStartTime != nil && rec.TaskStartTime.After(launched) {
				fmt.Fprintf(stderr, "snapexport: export %s runs in process %d; its log is %s\n", rec.ExportTaskIdentifier, cmd.Process.Pid, logPath)
				return out.print(stdout, rec, func(w io.Writer) { printTable(w, []snapexport.ExportTask{rec}) })
			}
		}
		if childDone {
			log, _ := os.ReadFile(logPath)
			fmt.Fprintf(stderr, "snapexport: the background export stopped before recording its task:\n%s", log)
			return exitFailed
		}
		select {
		case <-exited:
			// A short export may end between two looks: look once more
			// before saying it stopped without a record.
			childDone = true
		case <-ctx.Done():
			return exitCanceled
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "snapexport: the background export (process %d) has not recorded its task after %s; see %s\n", cmd.Process.Pid, startupTimeout, logPath)
			return exitFailed
		}
	}
}

// argsFDEnv names the environment variable that tells a background process
// which inherited file descriptor holds its arguments.
const argsFDEnv = "SNAPEXPORT_ARGS_FD"

// startChild starts the background process. Its arguments hold the source
// URL, password included, so they travel through an inherited pipe and
// never on its command line, which every user of the machine can read (ps,
// /proc/PID/cmdline) for the whole export. The command line names only the
// command and the task, for ps.
func startChild(exe, id string, args []string, log *os.File) (*exec.Cmd, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(exe, "start-export-task", "--export-task-identifier", id)
	cmd.Env = append(os.Environ(), argsFDEnv+"=3") // ExtraFiles[0] is descriptor 3
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	// The pipe holds 64 KiB; a longer list (ExportOnly may be 200 KiB) is
	// written as the child reads it, which it does first thing.
	err = json.NewEncoder(w).Encode(args)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("handing the arguments to the background process: %w", err)
	}
	return cmd, nil
}

// inheritedArgs returns the arguments a background process was handed
// through the descriptor named by argsFDEnv, or ok false when it was not
// started that way. It unsets the variable, so nothing the process starts
// inherits it.
func inheritedArgs() (args []string, ok bool, err error) {
	v := os.Getenv(argsFDEnv)
	if v == "" {
		return nil, false, nil
	}
	os.Unsetenv(argsFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, true, fmt.Errorf("%s=%q is not an inherited file descriptor", argsFDEnv, v)
	}
	f := os.NewFile(uintptr(fd), "arguments")
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&args); err != nil {
		return nil, true, fmt.Errorf("reading the arguments from descriptor %d: %w", fd, err)
	}
	return args, true, nil
}
