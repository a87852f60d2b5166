// Command snapexport exports databases to Parquet files in S3, an
// S3-compatible store or a local directory, with the commands and option
// names of `aws rds start-export-task`, `describe-export-tasks` and
// `cancel-export-task`.
//
// Usage:
//
//	snapexport start-export-task --export-task-identifier ID --source-arn URL --s3-bucket-name NAME-OR-URL
//	    [--s3-prefix P] [--export-only A B C] [--kms-key-id K] [--iam-role-arn R]
//	    [--compression gzip|snappy|zstd|none] [--concurrency N] [--resume] [--no-wait] [...]
//	snapexport describe-export-tasks --s3-bucket-name NAME-OR-URL [--s3-prefix P]
//	    [--export-task-identifier ID] [--filters Name=status,Values=complete] [--max-records N] [--marker M]
//	    [--max-items N] [--page-size N] [--starting-token T]
//	snapexport cancel-export-task --export-task-identifier ID --s3-bucket-name NAME-OR-URL [--s3-prefix P]
//	snapexport queue migrate --queue postgres://…/queuedb
//	snapexport worker --queue postgres://…/queuedb --source URL --sink NAME-OR-URL [--concurrency N] [--memory-limit B]
//
// start-export-task --queue postgres://…/queuedb makes the process the
// coordinator of a distributed export: it takes the snapshot, plans, and
// puts one River job per part in the queue, which `snapexport worker`
// processes on any number of machines run (package scheduler/riversched).
//
// Results are printed on standard output as JSON in the AWS CLI's shape
// (--output text for its tab-separated format, --output table for a table,
// --query for a JMESPath expression); progress and messages go to standard
// error; --help prints on standard output.
// describe and cancel work from any process: the destination holds the
// task records.
//
// Exit codes: 0 success (start: the task is COMPLETE, or started with
// --no-wait); 1 the task FAILED or the start was refused; 2 the command
// line is wrong (a value the command cannot use is refused, never replaced
// by a default); 130 the task was CANCELED; 254, as the AWS CLI, an error
// describe or cancel got from the exporter (ExportTaskNotFound,
// InvalidExportTaskStateFault), printed as "An error occurred (Code) when
// calling the Op operation: message".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitCanceled = 130
	// exitServiceError is the AWS CLI's code for an error the service
	// returned (ExportTaskNotFound, InvalidExportTaskStateFault, ...).
	exitServiceError = 254
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	// A background process started by --no-wait reads its arguments from
	// the pipe its parent handed it (background.go).
	if inherited, ok, err := inheritedArgs(); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "snapexport:", err)
			os.Exit(exitUsage)
		}
		args = inherited
	}
	code := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

var commands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}{
	{"start-export-task", "export a database to Parquet (in the foreground, or in the background with --no-wait)", startExportTask},
	{"describe-export-tasks", "list the export tasks recorded in a destination, from any process", describeExportTasks},
	{"cancel-export-task", "cancel an export task, whichever process runs it", cancelExportTask},
	{"worker", "run parts of distributed exports (start-export-task --queue) from a River queue", workerCommand},
	{"queue", "queue migrate: install River's schema in the queue database", queueCommand},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		topUsage(stdout)
		return exitOK
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "snapexport: unknown command %q\n\n", args[0])
	topUsage(stderr)
	return exitUsage
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: snapexport <command> [options]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'snapexport <command> --help' for a command's options; 'snapexport --version' for the version.")
	fmt.Fprintln(w, "Exit codes: 0 complete, 1 failed or refused, 2 usage error, 130 canceled, 254 error from describe or cancel (ExportTaskNotFound, ...).")
}

// versionLine is what --version prints, in the AWS CLI's shape
// (aws-cli/2.x Python/3.x Linux/…): the module version the binary was
// built from ("(devel)" for a build inside the repository), Go's, and the
// platform.
func versionLine() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("snapexport/%s %s %s/%s", v, strings.Replace(runtime.Version(), "go", "go/", 1), runtime.GOOS, runtime.GOARCH)
}
