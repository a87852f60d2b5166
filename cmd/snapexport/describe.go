package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/snapexport/snapexport"
)

// destinationFlags are the options that say where task records are.
type destinationFlags struct {
	bucket, prefix string
	out            outputFlags
}

func (d *destinationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.bucket, "s3-bucket-name", "", "destination holding the task records (required): a bucket name, s3://bucket?…, file:///abs/dir")
	fs.StringVar(&d.prefix, "s3-prefix", "", "the prefix the tasks were started with")
	d.out.register(fs)
}

func (d *destinationFlags) exporter() (*snapexport.Exporter, error) {
	return snapexport.New(snapexport.Config{Destination: d.bucket, DestinationPrefix: d.prefix})
}

// statusValues are the values of the status filter, as RDS takes them.
var statusValues = []string{"canceled", "canceling", "complete", "failed", "in_progress", "starting"}

// filterNames are the describe filters RDS documents.
var filterNames = []string{"export-task-identifier", "s3-bucket", "source-arn", "status"}

// paginationToken is what --starting-token carries, as the AWS CLI's
// tokens do: the service's marker and how many of its page were printed.
type paginationToken struct {
	Marker string `json:"Marker,omitempty"`
	Skip   int    `json:"boto_truncate_amount,omitempty"`
}

func describeExportTasks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("describe-export-tasks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dest          destinationFlags
		in            snapexport.DescribeExportTasksInput
		filters       listFlag
		maxItems      int
		pageSize      int
		startingToken string
	)
	dest.register(fs)
	fs.StringVar(&in.ExportTaskIdentifier, "export-task-identifier", "", "describe this task only (ExportTaskNotFound if there is none)")
	fs.StringVar(&in.SourceArn, "source-arn", "", "describe the tasks of this source only")
	fs.StringVar(&in.SourceType, "source-type", "", "SNAPSHOT or CLUSTER")
	fs.Var(&filters, "filters", "filters, space-separated, as the AWS CLI: Name=status,Values=complete,failed Name=export-task-identifier,Values=a,b (names: "+strings.Join(filterNames, ", ")+"; status values: "+strings.Join(statusValues, ", ")+")")
	fs.IntVar(&in.MaxRecords, "max-records", 0, "one page of this many records, 20 to 100 (default 100), without automatic pagination")
	fs.StringVar(&in.Marker, "marker", "", "continue from the Marker of a previous --max-records page")
	fs.IntVar(&maxItems, "max-items", 0, "print at most this many tasks in all, and a NextToken to continue from (AWS CLI pagination)")
	fs.IntVar(&pageSize, "page-size", 0, "records fetched per call while paginating, 20 to 100 (default 100)")
	fs.StringVar(&startingToken, "starting-token", "", "continue from the NextToken of a previous --max-items listing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: snapexport describe-export-tasks --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(fs.Output(), "\nLists the export tasks recorded in a destination, from any process; a running task whose")
		fmt.Fprintln(fs.Output(), "process stopped responding is shown FAILED.\n\noptions:")
		printFlags(fs.Output(), fs)
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if dest.bucket == "" {
		return usage(fs, stderr, "--s3-bucket-name is required")
	}
	if err := dest.out.check(); err != nil {
		return usage(fs, stderr, err.Error())
	}
	for _, f := range filters {
		parsed, err := parseFilter(f)
		if err != nil {
			return usage(fs, stderr, "--filters: "+err.Error())
		}
		in.Filters = append(in.Filters, parsed)
	}
	paginate := maxItems != 0 || pageSize != 0 || startingToken != ""
	switch {
	case paginate && (in.MaxRecords != 0 || in.Marker != ""):
		return usage(fs, stderr, "give --max-records/--marker (one page) or --max-items/--page-size/--starting-token (pagination), not both")
	case maxItems < 0:
		return usage(fs, stderr, fmt.Sprintf("--max-items %d: give a positive number", maxItems))
	case pageSize != 0 && (pageSize < 20 || pageSize > 100):
		return usage(fs, stderr, fmt.Sprintf("--page-size %d: give 20 to 100", pageSize))
	case in.MaxRecords != 0 && (in.MaxRecords < 20 || in.MaxRecords > 100):
		return usage(fs, stderr, fmt.Sprintf("--max-records %d: give 20 to 100", in.MaxRecords))
	}
	var token paginationToken
	if startingToken != "" {
		raw, err := base64.StdEncoding.DecodeString(startingToken)
		if err != nil || json.Unmarshal(raw, &token) != nil || token.Skip < 0 {
			return usage(fs, stderr, fmt.Sprintf("--starting-token %q was not printed as a NextToken by describe-export-tasks", startingToken))
		}
	}
	exp, err := dest.exporter()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	defer exp.Close()
	out := &paginatedOutput{}
	if paginate {
		out, err = describeAll(ctx, exp, in, token, pageSize, maxItems)
	} else {
		out.DescribeExportTasksOutput, err = exp.DescribeExportTasks(ctx, in)
	}
	if err != nil {
		return serviceError(stderr, "DescribeExportTasks", err)
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(stderr, "snapexport: warning:", w)
	}
	shown := describeOutput{ExportTasks: out.ExportTasks, Marker: out.Marker, NextToken: out.nextToken}
	return dest.out.print(stdout, shown, func(w io.Writer) {
		printTable(w, out.ExportTasks)
		if shown.Marker != "" {
			fmt.Fprintf(w, "\nMarker: %s\n", shown.Marker)
		}
		if shown.NextToken != "" {
			fmt.Fprintf(w, "\nNextToken: %s\n", shown.NextToken)
		}
	})
}

// describeOutput is what describe prints: RDS's page, or the AWS CLI's
// paginated result with its NextToken; the destination's warnings go to
// stderr.
type describeOutput struct {
	ExportTasks []snapexport.ExportTask `json:"ExportTasks"`
	Marker      string                  `json:"Marker,omitempty"`
	NextToken   string                  `json:"NextToken,omitempty"`
}

// describeAll follows the markers as the AWS CLI's paginator does: pages of
// pageSize records from the token on, until maxItems tasks (0: all).
func describeAll(ctx context.Context, exp *snapexport.Exporter, in snapexport.DescribeExportTasksInput, token paginationToken, pageSize, maxItems int) (*paginatedOutput, error) {
	in.MaxRecords, in.Marker = pageSize, token.Marker
	skip := token.Skip
	all := &paginatedOutput{DescribeExportTasksOutput: &snapexport.DescribeExportTasksOutput{ExportTasks: []snapexport.ExportTask{}}}
	for {
		page, err := exp.DescribeExportTasks(ctx, in)
		if err != nil {
			return nil, err
		}
		all.Warnings = append(all.Warnings, page.Warnings...)
		tasks := page.ExportTasks[min(skip, len(page.ExportTasks)):]
		if maxItems > 0 && len(all.ExportTasks)+len(tasks) > maxItems {
			n := maxItems - len(all.ExportTasks)
			all.ExportTasks = append(all.ExportTasks, tasks[:n]...)
			all.nextToken = encodeToken(paginationToken{Marker: in.Marker, Skip: skip + n})
			return all, nil
		}
		all.ExportTasks = append(all.ExportTasks, tasks...)
		skip = 0
		if page.Marker == "" {
			return all, nil
		}
		in.Marker = page.Marker
		if maxItems > 0 && len(all.ExportTasks) == maxItems {
			all.nextToken = encodeToken(paginationToken{Marker: page.Marker})
			return all, nil
		}
	}
}

type paginatedOutput struct {
	*snapexport.DescribeExportTasksOutput
	nextToken string
}

func encodeToken(t paginationToken) string {
	b, _ := json.Marshal(t)
	return base64.StdEncoding.EncodeToString(b)
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
		fmt.Fprintln(fs.Output(), "usage: snapexport cancel-export-task --export-task-identifier ID --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(fs.Output(), "\nAsks the process running the task to stop, through a request written beside the task's record;")
		fmt.Fprintln(fs.Output(), "prints the task in CANCELING. It ends CANCELED within one heartbeat; finished files stay.\n\noptions:")
		printFlags(fs.Output(), fs)
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if id == "" || dest.bucket == "" {
		return usage(fs, stderr, "--export-task-identifier and --s3-bucket-name are required")
	}
	if err := dest.out.check(); err != nil {
		return usage(fs, stderr, err.Error())
	}
	exp, err := dest.exporter()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	defer exp.Close()
	rec, err := exp.CancelExportTask(ctx, id)
	if err != nil {
		return serviceError(stderr, "CancelExportTask", err)
	}
	return dest.out.print(stdout, rec, func(w io.Writer) { printTable(w, []snapexport.ExportTask{rec}) })
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
	if !slices.Contains(filterNames, name) {
		return f, fmt.Errorf("%q: unknown filter name %q; give one of %s", s, name, strings.Join(filterNames, ", "))
	}
	f.Name = name
	f.Values = strings.Split(values, ",")
	if name == "status" {
		for _, v := range f.Values {
			if !slices.Contains(statusValues, v) {
				return f, fmt.Errorf("%q: unknown status %q; give one of %s (lowercase)", s, v, strings.Join(statusValues, ", "))
			}
		}
	}
	return f, nil
}

func printJSON(w io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return exitFailed
	}
	b = jsonTimestamp.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := jsonTimestamp.FindSubmatch(m)
		t, err := time.Parse(time.RFC3339Nano, string(sub[2]))
		if err != nil {
			return m
		}
		return []byte(fmt.Sprintf(`%s"%s"`, sub[1], awsTimestamp(t)))
	})
	_, err = w.Write(append(b, '\n'))
	if err != nil {
		return exitFailed
	}
	return exitOK
}

// jsonTimestamp matches a timestamp field of the printed JSON, which
// encoding/json writes in RFC 3339 with nanoseconds.
var jsonTimestamp = regexp.MustCompile(`("(?:SnapshotTime|TaskStartTime|TaskEndTime|Time)": )"([0-9T:.+Z-]+)"`)

func printTable(w io.Writer, tasks []snapexport.ExportTask) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPORT TASK\tSTATUS\tPERCENT\tROWS\tSTARTED\tENDED\tSOURCE\tCAUSE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", t.ExportTaskIdentifier, t.Status, t.PercentProgress, t.ExportedRows,
			stamp(t.TaskStartTime), stamp(t.TaskEndTime), t.SourceArn, t.FailureCause)
	}
	tw.Flush()
	// The warnings of each task follow, one line each: what a partial
	// ExportOnly match or an unused override did must be visible here too.
	for _, t := range tasks {
		w8s, err := snapexport.ParseWarnings(t.WarningMessage)
		if err != nil || t.WarningMessage == "" {
			continue
		}
		fmt.Fprintf(w, "\nwarnings of export task %s:\n", t.ExportTaskIdentifier)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, group := range [][]snapexport.WarningEntry{w8s.SkippedTables, w8s.SkippedObjectives, w8s.General} {
			for _, e := range group {
				fmt.Fprintf(tw, "WARNING\t%s\t%s\t%s\n", e.Target, e.Reason, e.Detail)
			}
		}
		tw.Flush()
	}
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return awsTimestamp(*t)
}

// parseFlags parses args, reporting (exit code, false) when the command
// should stop: on --help (0, the usage on stdout) or an error (2, on
// stderr).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	show := fs.Usage
	fs.Usage = func() {} // shown below, where it belongs
	err := fs.Parse(spreadMultiValues(args))
	fs.Usage = show
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			fs.SetOutput(stderr)
			return exitOK, false
		}
		fs.Usage()
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
