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
//	snapexport cancel-export-task --export-task-identifier ID --s3-bucket-name NAME-OR-URL [--s3-prefix P]
//
// Results are printed on standard output as JSON in the AWS CLI's shape
// (--output table for a table); progress and messages go to standard error.
// describe and cancel work from any process: the destination holds the
// task records.
//
// Exit codes: 0 success (start: the task is COMPLETE, or started with
// --no-wait); 1 the task FAILED or the request was refused; 2 the command
// line is wrong; 130 the task was CANCELED.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitCanceled = 130
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
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
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
	fmt.Fprintln(w, "\nRun 'snapexport <command> --help' for a command's options.")
	fmt.Fprintln(w, "Exit codes: 0 complete, 1 failed, 2 usage error, 130 canceled.")
}
