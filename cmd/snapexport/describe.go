package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/snapexport/snapexport"
)

// destinationFlags are the options that say where task records are.
type destinationFlags struct {
	bucket, prefix, output string
}

func (d *destinationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.bucket, "s3-bucket-name", "", "destination holding the task records (required): a bucket name, s3://bucket?…, file:///abs/dir")
	fs.StringVar(&d.prefix, "s3-prefix", "", "the prefix the tasks were started with")
	fs.StringVar(&d.output, "output", "json", "output format: json or table")
}

func (d *destinationFlags) exporter() (snapexport.Exporter, error) {
	return snapexport.New(snapexport.Config{Destination: d.bucket, DestinationPrefix: d.prefix})
}

func describeExportTasks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("describe-export-tasks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dest    destinationFlags
		in      snapexport.DescribeExportTasksInput
		filters listFlag
	)
	dest.register(fs)
	fs.StringVar(&in.ExportTaskIdentifier, "export-task-identifier", "", "describe this task only")
	fs.StringVar(&in.SourceArn, "source-arn", "", "describe the tasks of this source only")
	fs.StringVar(&in.SourceType, "source-type", "", "SNAPSHOT or CLUSTER")
	fs.Var(&filters, "filters", "filters, space-separated, as the AWS CLI: Name=status,Values=complete,failed Name=export-task-identifier,Values=a,b")
	fs.IntVar(&in.MaxRecords, "max-records", 0, "page size, 20 to 100 (0: 100)")
	fs.StringVar(&in.Marker, "marker", "", "continue from the Marker of a previous page")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: snapexport describe-export-tasks --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(stderr, "\nLists the export tasks recorded in a destination, from any process; a running task whose")
		fmt.Fprintln(stderr, "process stopped responding is shown FAILED.\n\noptions:")
		printFlags(stderr, fs)
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if dest.bucket == "" {
		return usage(fs, stderr, "--s3-bucket-name is required")
	}
	for _, f := range filters {
		parsed, err := parseFilter(f)
		if err != nil {
			return usage(fs, stderr, "--filters: "+err.Error())
		}
		in.Filters = append(in.Filters, parsed)
	}
	exp, err := dest.exporter()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	defer exp.Close()
	out, err := exp.DescribeExportTasks(ctx, in)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(stderr, "snapexport: warning:", w)
	}
	warnings := out.Warnings
	out.Warnings = nil // on stderr, not in the AWS-shaped output
	defer func() { out.Warnings = warnings }()
	if dest.output == "table" {
		printTable(stdout, out.ExportTasks)
		if out.Marker != "" {
			fmt.Fprintf(stdout, "\nMarker: %s\n", out.Marker)
		}
		return exitOK
	}
	return printJSON(stdout, out)
}

func cancelExportTask(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cancel-export-task", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dest destinationFlags
		id   string
	)
	dest.register(fs)
	fs.StringVar(&id, "export-task-identifier", "", "the task to cancel (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: snapexport cancel-export-task --export-task-identifier ID --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(stderr, "\nAsks the process running the task to stop, through a request written beside the task's record;")
		fmt.Fprintln(stderr, "prints the task in CANCELING. It ends CANCELED within one heartbeat; finished files stay.\n\noptions:")
		printFlags(stderr, fs)
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if id == "" || dest.bucket == "" {
		return usage(fs, stderr, "--export-task-identifier and --s3-bucket-name are required")
	}
	exp, err := dest.exporter()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	defer exp.Close()
	rec, err := exp.CancelExportTask(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, snapexport.ErrExportTaskNotFound) || errors.Is(err, snapexport.ErrInvalidExportTaskState) {
			return exitFailed
		}
		return exitFailed
	}
	if dest.output == "table" {
		printTable(stdout, []snapexport.ExportTask{rec})
		return exitOK
	}
	return printJSON(stdout, rec)
}

// parseFilter reads the AWS CLI shorthand Name=status,Values=complete,failed.
func parseFilter(s string) (snapexport.Filter, error) {
	var f snapexport.Filter
	rest, ok := strings.CutPrefix(s, "Name=")
	if !ok {
		return f, fmt.Errorf("%q: want Name=NAME,Values=V1,V2", s)
	}
	name, values, ok := strings.Cut(rest, ",Values=")
	if !ok || name == "" || values == "" {
		return f, fmt.Errorf("%q: want Name=NAME,Values=V1,V2", s)
	}
	f.Name = name
	f.Values = strings.Split(values, ",")
	return f, nil
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return exitFailed
	}
	return exitOK
}

func printTable(w io.Writer, tasks []snapexport.ExportTask) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPORT TASK\tSTATUS\tPERCENT\tROWS\tSTARTED\tENDED\tSOURCE\tCAUSE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", t.ExportTaskIdentifier, t.Status, t.PercentProgress, t.ExportedRows,
			stamp(t.TaskStartTime), stamp(t.TaskEndTime), t.SourceArn, t.FailureCause)
	}
	tw.Flush()
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// parseFlags parses args, reporting (exit code, false) when the command
// should stop: on --help (0) or an error (2).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(spreadMultiValues(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		return usage(fs, stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0))), false
	}
	return 0, true
}

func usage(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintln(stderr, "snapexport: "+msg)
	fs.Usage()
	return exitUsage
}
