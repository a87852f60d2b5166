package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// multiFlags are the options that take several space-separated values, as
// the AWS CLI's list options do (--export-only a b c).
var multiFlags = map[string]bool{"export-only": true, "type-override": true, "filters": true}

// Bounds of the size and interval options: values outside them are
// mistakes (a 1-byte file size, a budget of a petabyte) that the command
// refuses rather than turning into millions of files or a process the
// machine kills.
const (
	minMemoryLimit       = 16 << 20
	maxMemoryLimit       = 1 << 40
	minTargetFileBytes   = 1 << 20
	maxSizeOption        = 1 << 40
	minHeartbeatInterval = 100 * time.Millisecond
	maxHeartbeatInterval = 10 * time.Minute
)

var progressModes = []string{"auto", "bar", "lines", "none"}

// startInputJSON is the input of --cli-input-json and
// --generate-cli-skeleton: RDS's StartExportTask request fields.
type startInputJSON struct {
	ExportTaskIdentifier string   `json:"ExportTaskIdentifier"`
	SourceArn            string   `json:"SourceArn"`
	S3BucketName         string   `json:"S3BucketName"`
	IamRoleArn           string   `json:"IamRoleArn"`
	KmsKeyId             string   `json:"KmsKeyId"`
	S3Prefix             string   `json:"S3Prefix"`
	ExportOnly           []string `json:"ExportOnly"`
}

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
		out         outputFlags
		noWait      bool
		numeric     = "string"
		tsUnit      = "micros"
		inputJSON   string
		skeleton    string
		queueURL    string
		consistency = "snapshot"
		queueName   = "snapexport"
	)
	fs.StringVar(&in.ExportTaskIdentifier, "export-task-identifier", "", "task identifier (required): letters, digits, hyphens; starts with a letter")
	fs.StringVar(&in.SourceArn, "source-arn", "", "database URL (required): sqlite:///abs/file.db, postgres://user@host/db, mysql://user@host:3306/")
	fs.StringVar(&in.S3BucketName, "s3-bucket-name", "", "destination (required): a bucket name, s3://bucket?endpoint=…, file:///abs/dir or mem://name")
	fs.StringVar(&in.S3Prefix, "s3-prefix", "", "prefix for every key (no ':')")
	fs.StringVar(&in.KmsKeyId, "kms-key-id", "", "KMS key for SSE-KMS of every object (S3 destinations only)")
	fs.StringVar(&in.IamRoleArn, "iam-role-arn", "", "IAM role assumed for the writes (S3 destinations only)")
	fs.Var(&exportOnly, "export-only", "what to export, space-separated: database, database.table, database.schema, database.schema.table")
	fs.StringVar(&compression, "compression", compression, "Parquet codec: gzip, snappy, zstd or none")
	fs.IntVar(&opts.Concurrency, "concurrency", 0, "partitions exported at once, each on its own connection (default: one per CPU)")
	fs.Int64Var(&opts.MemoryLimit, "memory-limit", 0, fmt.Sprintf("memory budget of the task in bytes, shared by all workers, %s to %s (default %s)",
		bytesText(minMemoryLimit), bytesText(maxMemoryLimit), bytesText(snapexport.DefaultMemoryLimit)))
	fs.Int64Var(&opts.RowGroupBytes, "row-group-bytes", 0, "uncompressed bytes per row group (default: derived from --memory-limit, at most 32 MiB)")
	fs.Int64Var(&opts.TargetPartBytes, "target-part-bytes", 0, "estimated source bytes per part when a big table is split for parallel reads (default 512 MiB)")
	fs.Int64Var(&opts.TargetFileBytes, "target-file-bytes", 0, fmt.Sprintf("size at which a file is closed and the next started, at least %s (default 1 GiB)", bytesText(minTargetFileBytes)))
	fs.Int64Var(&opts.MaxValueBytes, "max-value-bytes", 0, fmt.Sprintf("fail on a single value of this many bytes or more (default %s, as RDS)", bytesText(snapexport.DefaultMaxValueBytes)))
	fs.Var(&overrides, "type-override", "type overrides, space-separated TYPE=KIND or db.schema.table.column=KIND (kinds: string, binary, int64, timestamp_millis, decimal(p,s), ...)")
	fs.BoolVar(&opts.Strict, "strict", false, "fail the task on what is otherwise a warning about the request: a --type-override that matches no column")
	fs.StringVar(&progress, "progress", progress, "progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or none")
	fs.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", 0, fmt.Sprintf("how often the task rewrites its record and looks for a cancel request, %s to %s (default %s)",
		minHeartbeatInterval, maxHeartbeatInterval, snapexport.DefaultHeartbeatInterval))
	fs.IntVar(&opts.CompressionLevel, "compression-level", 0, "codec level: gzip 1..9, zstd 1..22 (0: the codec's default, gzip 1, zstd 3)")
	fs.StringVar(&opts.TypeProfile, "type-profile", typemap.ProfileRDS, "type mapping: rds (RDS's tables exactly) or typed (DECIMAL, DATE, TIMESTAMP, TIME, UUID, JSON, ENUM, LIST)")
	fs.StringVar(&numeric, "unbounded-numeric", numeric, "typed profile: numerics without precision or above 38 digits as string, or decimal(p,s) failing on a value that does not fit")
	fs.StringVar(&tsUnit, "timestamp-unit", tsUnit, "unit of every timestamp: micros or millis (for readers that take only milliseconds)")
	fs.BoolVar(&opts.FailFast, "fail-fast", false, "fail the whole task at the first table that fails (default: the other tables are exported, and --resume redoes the failed ones)")
	fs.BoolVar(&in.Resume, "resume", false, "continue the FAILED, CANCELED or stale task with this identifier: finished parts are kept")
	fs.BoolVar(&noWait, "no-wait", false, "start the export in a background process and print the STARTING record at once; follow it with describe-export-tasks")
	fs.StringVar(&inputJSON, "cli-input-json", "", "the request's fields as JSON, or file://path to a file of it (see --generate-cli-skeleton); options on the command line win")
	fs.StringVar(&skeleton, "generate-cli-skeleton", "", "print a JSON skeleton of the request (input, the default) or of the result (output) and exit")
	fs.StringVar(&queueURL, "queue", "", "run the parts on `snapexport worker` processes through this River queue (postgres://…/queuedb); this process coordinates")
	fs.StringVar(&consistency, "consistency", consistency, "with --queue: snapshot (every worker joins this process's snapshot; PostgreSQL) or none (each part reads its own point in time; needed for MySQL/MariaDB)")
	fs.StringVar(&queueName, "queue-name", queueName, "with --queue: the River queue the workers work")
	out.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: snapexport start-export-task --export-task-identifier ID --source-arn URL --s3-bucket-name NAME-OR-URL [options]")
		fmt.Fprintln(fs.Output(), "\nRuns the export in the foreground, shows progress on stderr and prints the final ExportTask as JSON on stdout.")
		fmt.Fprintln(fs.Output(), "Ctrl-C cancels the task (it ends CANCELED; finished files stay, unfinished ones are never visible).\n\noptions:")
		printFlags(fs.Output(), fs)
	}
	// --generate-cli-skeleton takes an optional value, as the AWS CLI's.
	for i, a := range args {
		if (a == "--generate-cli-skeleton" || a == "-generate-cli-skeleton") && (i+1 == len(args) || strings.HasPrefix(args[i+1], "-")) {
			args = append(slices.Clone(args[:i+1]), append([]string{"input"}, args[i+1:]...)...)
			break
		}
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["generate-cli-skeleton"] {
		switch skeleton {
		case "input":
			return printJSON(stdout, startInputJSON{ExportOnly: []string{""}})
		case "output":
			return printJSON(stdout, snapexport.ExportTask{ExportOnly: []string{""}})
		}
		return usage(fs, stderr, fmt.Sprintf("--generate-cli-skeleton %q: give input or output", skeleton))
	}
	if inputJSON != "" {
		if err := mergeInputJSON(inputJSON, &in, &exportOnly, set); err != nil {
			return usage(fs, stderr, "--cli-input-json: "+err.Error())
		}
	}
	for _, req := range []struct{ name, val string }{
		{"export-task-identifier", in.ExportTaskIdentifier}, {"source-arn", in.SourceArn}, {"s3-bucket-name", in.S3BucketName},
	} {
		if req.val == "" {
			return usage(fs, stderr, fmt.Sprintf("--%s is required", req.name))
		}
	}
	if msg := checkStartOptions(set, opts, progress, in); msg != "" {
		return usage(fs, stderr, msg)
	}
	if err := out.check(); err != nil {
		return usage(fs, stderr, err.Error())
	}
	if !slices.Contains(consistencyModes, consistency) {
		return usage(fs, stderr, fmt.Sprintf("--consistency %q is not a mode: give %s", consistency, strings.Join(consistencyModes, " or ")))
	}
	if queueURL == "" && (set["consistency"] || set["queue-name"]) {
		return usage(fs, stderr, "--consistency and --queue-name need --queue")
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
		return startInBackground(ctx, args, in, &out, stdout, stderr)
	}

	if queueURL != "" {
		coord, code := newCoordinator(ctx, queueURL, consistency, queueName, &in, stderr)
		if coord == nil {
			return code
		}
		defer coord.close()
		opts.Scheduler = coord.sched
		opts.Consistency = consistency // recorded in the task (ExportTask.Consistency, NO_SHARED_SNAPSHOT)
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
	out.print(stdout, rec, func(w io.Writer) { printTable(w, []snapexport.ExportTask{rec}) })
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

// checkStartOptions refuses values that would silently be something else:
// the message names the option, the value and what is allowed.
func checkStartOptions(set map[string]bool, o snapexport.TaskOptions, progress string, in snapexport.StartExportTaskInput) string {
	if !slices.Contains(progressModes, progress) {
		return fmt.Sprintf("--progress %q is not a mode: give one of %s", progress, strings.Join(progressModes, ", "))
	}
	if o.Concurrency < 0 {
		return fmt.Sprintf("--concurrency %d is negative: give a positive number of workers, or leave it out for one per CPU", o.Concurrency)
	}
	sizes := []struct {
		name     string
		v        int64
		min, max int64
	}{
		{"memory-limit", o.MemoryLimit, minMemoryLimit, maxMemoryLimit},
		{"target-file-bytes", o.TargetFileBytes, minTargetFileBytes, maxSizeOption},
		{"max-value-bytes", o.MaxValueBytes, 1, maxSizeOption},
		{"row-group-bytes", o.RowGroupBytes, 1, maxSizeOption},
		{"target-part-bytes", o.TargetPartBytes, 1, maxSizeOption},
	}
	for _, s := range sizes {
		if set[s.name] && (s.v < s.min || s.v > s.max) {
			return fmt.Sprintf("--%s %d is out of range: give %d (%s) to %d (%s) bytes, or leave it out for the default",
				s.name, s.v, s.min, bytesText(s.min), s.max, bytesText(s.max))
		}
	}
	if set["heartbeat-interval"] && (o.HeartbeatInterval < minHeartbeatInterval || o.HeartbeatInterval > maxHeartbeatInterval) {
		return fmt.Sprintf("--heartbeat-interval %s is out of range: give %s to %s, or leave it out for %s",
			o.HeartbeatInterval, minHeartbeatInterval, maxHeartbeatInterval, snapexport.DefaultHeartbeatInterval)
	}
	if scheme, _, ok := strings.Cut(in.S3BucketName, "://"); ok && scheme != "s3" {
		for _, f := range []struct{ name, v string }{{"kms-key-id", in.KmsKeyId}, {"iam-role-arn", in.IamRoleArn}} {
			if f.v != "" {
				return fmt.Sprintf("--%s %q needs an S3 destination; %s:// cannot use it (give a bucket name or s3://bucket, or leave --%s out)",
					f.name, f.v, scheme, f.name)
			}
		}
	}
	return ""
}

// mergeInputJSON fills the fields not given on the command line from
// --cli-input-json, a JSON document or file://path to one.
func mergeInputJSON(src string, in *snapexport.StartExportTaskInput, exportOnly *listFlag, set map[string]bool) error {
	b := []byte(src)
	if path, ok := strings.CutPrefix(src, "file://"); ok {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return err
		}
	}
	var j startInputJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("not a StartExportTask request (%v); see --generate-cli-skeleton", err)
	}
	for _, f := range []struct {
		flag string
		dst  *string
		v    string
	}{
		{"export-task-identifier", &in.ExportTaskIdentifier, j.ExportTaskIdentifier},
		{"source-arn", &in.SourceArn, j.SourceArn},
		{"s3-bucket-name", &in.S3BucketName, j.S3BucketName},
		{"iam-role-arn", &in.IamRoleArn, j.IamRoleArn},
		{"kms-key-id", &in.KmsKeyId, j.KmsKeyId},
		{"s3-prefix", &in.S3Prefix, j.S3Prefix},
	} {
		if !set[f.flag] && f.v != "" {
			*f.dst = f.v
		}
	}
	if !set["export-only"] && len(j.ExportOnly) > 0 {
		*exportOnly = j.ExportOnly
	}
	return nil
}

// bytesText names a size in the largest binary unit that divides it.
func bytesText(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
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
		// Zero values mean "the default", which the usage text states.
		if !slices.Contains([]string{"", "0", "0s", "false", "[]"}, f.DefValue) {
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}
