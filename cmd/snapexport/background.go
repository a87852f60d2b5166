package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
func startInBackground(ctx context.Context, args []string, in snapexport.StartExportTaskInput, output string, stdout, stderr io.Writer) int {
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
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("snapexport-%s-%d.log", in.ExportTaskIdentifier, time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(stderr, "snapexport: cannot create the background process's log:", err)
		return exitFailed
	}
	defer logFile.Close()
	launched := time.Now().Add(-time.Second)
	cmd := exec.Command(exe, childArgs...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
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
	for {
		out, err := exp.DescribeExportTasks(ctx, snapexport.DescribeExportTasksInput{ExportTaskIdentifier: in.ExportTaskIdentifier})
		if err == nil && len(out.ExportTasks) == 1 {
			rec := out.ExportTasks[0]
			// A record from before this launch belongs to an earlier task.
			if rec.TaskStartTime != nil && rec.TaskStartTime.After(launched) {
				fmt.Fprintf(stderr, "snapexport: export %s runs in process %d; its log is %s\n", rec.ExportTaskIdentifier, cmd.Process.Pid, logPath)
				if output == "table" {
					printTable(stdout, []snapexport.ExportTask{rec})
					return exitOK
				}
				return printJSON(stdout, rec)
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			fmt.Fprintf(stderr, "snapexport: the background export stopped before recording its task:\n%s", log)
			return exitFailed
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
