package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// multiFlags are the options that take several space-separated values, as
// the AWS CLI's list options do (--export-only a b c).
var multiFlags = map[string]bool{"export-only": true, "type-override": true, "filters": true}

func startExportTask(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("start-export-task", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		in          snapexport.StartExportTaskInput
		opts        snapexport.TaskOptions
		compression = "gzip"
		exportOnly  listFlag
		overrides   listFlag
		progress    = "auto"
		output      = "json"
		noWait      bool
		numeric     = "string"
		tsUnit      = "micros"
	)
	fs.StringVar(&in.ExportTaskIdentifier, "export-task-identifier", "", "task identifier (required): letters, digits, hyphens; starts with a letter")
	fs.StringVar(&in.SourceArn, "source-arn", "", "database URL (required): sqlite:///abs/file.db, postgres://user@host/db, mysql://user@host:3306/")
	fs.StringVar(&in.S3BucketName, "s3-bucket-name", "", "destination (required): a bucket name, s3://bucket?endpoint=…, file:///abs/dir or mem://name")
	fs.StringVar(&in.S3Prefix, "s3-prefix", "", "prefix for every key (no ':')")
	fs.StringVar(&in.KmsKeyId, "kms-key-id", "", "KMS key for SSE-KMS of every object (S3)")
	fs.StringVar(&in.IamRoleArn, "iam-role-arn", "", "IAM role assumed for the writes (S3)")
	fs.Var(&exportOnly, "export-only", "what to export, space-separated: database, database.table, database.schema, database.schema.table")
	fs.StringVar(&compression, "compression", compression, "Parquet codec: gzip, snappy, zstd or none")
	fs.IntVar(&opts.CompressionLevel, "compression-level", 0, "codec level: gzip 1..9, zstd 1..22 (0: the codec's default, gzip 1, zstd 3)")
	fs.IntVar(&opts.Concurrency, "concurrency", 0, "partitions exported at once, each on its own connection (0: one per CPU)")
	fs.Int64Var(&opts.MemoryLimit, "memory-limit", 0, "memory budget of the task in bytes, shared by all workers (0: 512 MiB)")
	fs.Int64Var(&opts.RowGroupBytes, "row-group-bytes", 0, "uncompressed bytes per row group (0: derived from --memory-limit, at most 32 MiB)")
	fs.Int64Var(&opts.TargetPartBytes, "target-part-bytes", 0, "estimated source bytes per part when a big table is split for parallel reads (0: 512 MiB)")
	fs.Int64Var(&opts.TargetFileBytes, "target-file-bytes", 0, "size at which a file is closed and the next started (0: 1 GiB)")
	fs.Int64Var(&opts.MaxValueBytes, "max-value-bytes", 0, "fail on a single value of this many bytes or more (0: 500 MiB, as RDS)")
	fs.Var(&overrides, "type-override", "type overrides, space-separated TYPE=KIND or db.schema.table.column=KIND (kinds: string, binary, int64, timestamp_millis, decimal(p,s), ...)")
	fs.StringVar(&opts.TypeProfile, "type-profile", typemap.ProfileRDS, "type mapping: rds (RDS's tables exactly) or typed (DECIMAL, DATE, TIMESTAMP, TIME, UUID, JSON, ENUM, LIST)")
	fs.StringVar(&numeric, "unbounded-numeric", numeric, "typed profile: numerics without precision or above 38 digits as string, or decimal(p,s) failing on a value that does not fit")
	fs.StringVar(&tsUnit, "timestamp-unit", tsUnit, "unit of every timestamp: micros or millis (for readers that take only milliseconds)")
	fs.StringVar(&progress, "progress", progress, "progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or none")
	fs.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", 0, "how often the task rewrites its record and looks for a cancel request (0: 5s)")
	fs.BoolVar(&opts.FailFast, "fail-fast", false, "fail the whole task at the first table that fails (default: the other tables are exported, and --resume redoes the failed ones)")
	fs.BoolVar(&in.Resume, "resume", false, "continue the FAILED, CANCELED or stale task with this identifier: finished parts are kept")
	fs.BoolVar(&noWait, "no-wait", false, "start the export in a background process and print the STARTING record at once; follow it with describe-export-tasks")
	fs.StringVar(&output, "output", output, "output format: json or table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: snapexport start-export-task --export-task-identifier ID --source-arn URL --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(stderr, "\nRuns the export in the foreground, shows progress on stderr and prints the final ExportTask as JSON on stdout.")
		fmt.Fprintln(stderr, "Ctrl-C cancels the task (it ends CANCELED; finished files stay, unfinished ones are never visible).\n\noptions:")
		printFlags(stderr, fs)
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	for _, req := range []struct{ name, val string }{
		{"export-task-identifier", in.ExportTaskIdentifier}, {"source-arn", in.SourceArn}, {"s3-bucket-name", in.S3BucketName},
	} {
		if req.val == "" {
			fmt.Fprintf(stderr, "snapexport: --%s is required\n", req.name)
			fs.Usage()
			return exitUsage
		}
	}
	codec, err := writer.ParseCodec(compression)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --compression: %v\n", err)
		return exitUsage
	}
	opts.Compression = codec
	if opts.TypeOptions.UnboundedNumeric, err = typemap.ParseNumericPolicy(numeric); err != nil {
		fmt.Fprintf(stderr, "snapexport: --unbounded-numeric: %v\n", err)
		return exitUsage
	}
	if opts.TypeOptions.TimestampUnit, err = typemap.ParseTimeUnit(tsUnit); err != nil {
		fmt.Fprintf(stderr, "snapexport: --timestamp-unit: %v\n", err)
		return exitUsage
	}
	profile, err := typemap.Profile(opts.TypeProfile, opts.TypeOptions)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --type-profile: %v\n", err)
		return exitUsage
	}
	if len(overrides) > 0 {
		o, err := parseOverrides(overrides)
		if err != nil {
			fmt.Fprintf(stderr, "snapexport: --type-override: %v\n", err)
			return exitUsage
		}
		opts.TypeMapper = typemap.WithOverrides(profile, o)
	}
	in.ExportOnly = exportOnly
	in.Options = &opts
	// The command owns its process, so it tells the Go runtime the memory
	// it may use: the task's budget plus the fixed overhead. The collector
	// then runs before the heap doubles, instead of after (GOGC's default),
	// which is what lets peak RSS follow the budget with huge values. An
	// explicit GOMEMLIMIT wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		budget := opts.MemoryLimit
		if budget <= 0 {
			budget = snapexport.DefaultMemoryLimit
		}
		debug.SetMemoryLimit(budget + snapexport.FixedMemoryOverhead)
	}
	if noWait {
		return startInBackground(ctx, args, in, output, stdout, stderr)
	}

	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitFailed
	}
	defer exp.Close()
	task, err := exp.StartExportTask(ctx, in)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitFailed
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		showProgress(stderr, task.Progress(), progress)
	}()
	rec, err := task.Wait(context.Background())
	<-done
	if output == "table" {
		printTable(stdout, []snapexport.ExportTask{rec})
	} else {
		printJSON(stdout, rec)
	}
	if errors.Is(err, snapexport.ErrRecordNotWritten) {
		// Other processes would see an outdated record: say so, and fail.
		fmt.Fprintf(stderr, "snapexport: export %s ended %s, but %v\n", rec.ExportTaskIdentifier, rec.Status, err)
		return exitFailed
	}
	switch rec.Status {
	case snapexport.StatusComplete:
		if rec.WarningMessage != "" {
			fmt.Fprintf(stderr, "snapexport: export %s completed with warnings: %s\n", rec.ExportTaskIdentifier, rec.WarningMessage)
		}
		return exitOK
	case snapexport.StatusCanceled:
		fmt.Fprintf(stderr, "snapexport: export %s was canceled; files already finished stay in %s\n", rec.ExportTaskIdentifier, rec.S3Bucket)
		return exitCanceled
	default:
		fmt.Fprintf(stderr, "snapexport: export %s failed: %s\n", rec.ExportTaskIdentifier, rec.FailureCause)
		if err != nil && rec.FailureCause == "" {
			fmt.Fprintf(stderr, "%v\n", err)
		}
		return exitFailed
	}
}

// listFlag collects the values of a list option, space- or comma-free.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// spreadMultiValues rewrites "--export-only a b c" as "--export-only a
// --export-only b --export-only c", so the flag package, which takes one
// value per option, reads the AWS CLI's list syntax.
func spreadMultiValues(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || !multiFlags[strings.TrimLeft(a, "-")] {
			out = append(out, a)
			continue
		}
		n := 0
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			n++
			out = append(out, a, args[i])
		}
		if n == 0 {
			out = append(out, a) // no value: the flag package reports it
		}
	}
	return out
}

// parseOverrides reads TYPE=KIND and db.schema.table.column=KIND entries.
func parseOverrides(entries []string) (typemap.Overrides, error) {
	o := typemap.Overrides{ByType: map[string]typemap.Target{}, ByColumn: map[string]typemap.Target{}}
	for _, e := range entries {
		name, kind, ok := strings.Cut(e, "=")
		if !ok || name == "" || kind == "" {
			return o, fmt.Errorf("%q is not NAME=KIND", e)
		}
		t, err := parseTarget(kind)
		if err != nil {
			return o, err
		}
		if strings.Count(name, ".") >= 3 {
			o.ByColumn[name] = t
		} else {
			o.ByType[name] = t
		}
	}
	return o, nil
}

func parseTarget(s string) (typemap.Target, error) {
	var p, sc int
	if n, _ := fmt.Sscanf(strings.ToLower(s), "decimal(%d,%d)", &p, &sc); n == 2 {
		return typemap.Target{Kind: typemap.Decimal, Precision: p, Scale: sc}, nil
	}
	k, err := typemap.ParseKind(s)
	if err != nil {
		return typemap.Target{}, err
	}
	if k == typemap.Decimal {
		return typemap.Target{}, fmt.Errorf("give decimal as decimal(precision,scale)")
	}
	return typemap.Target{Kind: k}, nil
}

// printFlags lists a command's options with the AWS CLI's double dash.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + usage
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "[]" {
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}
