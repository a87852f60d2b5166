package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/scheduler/riversched"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// The distributed commands. A URL option left out is read from its
// environment variable, so that a password never has to be on a command
// line (where ps shows it): PGPASSWORD, ~/.pgpass, MYSQL_PWD and the AWS
// credential chain work as for start-export-task too.
const (
	envQueue  = "SNAPEXPORT_QUEUE_URL"
	envSource = "SNAPEXPORT_SOURCE_URL"
	envSink   = "SNAPEXPORT_SINK_URL"
	// envWorkerID names the worker (a pod's name).
	envWorkerID = "SNAPEXPORT_WORKER_ID"
)

// queueCommand is `snapexport queue migrate`.
func queueCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "migrate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "usage: snapexport queue migrate --queue postgres://…/queuedb")
			return exitOK
		}
		fmt.Fprintln(stderr, "usage: snapexport queue migrate --queue postgres://…/queuedb")
		return exitUsage
	}
	fs := flag.NewFlagSet("queue migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queue := fs.String("queue", "", "queue database URL (postgres://…); default $"+envQueue)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: snapexport queue migrate --queue postgres://…/queuedb")
		fmt.Fprintln(fs.Output(), "\nInstalls or upgrades River's schema (River's own migrator) and snapexport's journal table in the queue database.\n\noptions:")
		printFlags(fs.Output(), fs)
	}
	if code, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return code
	}
	pool, code := openQueue(ctx, fs, *queue, stderr)
	if pool == nil {
		return code
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		fmt.Fprintf(stderr, "snapexport: the queue database is unreachable: %v\n", source.RedactError(err, pool.Config().ConnConfig.Password))
		return exitFailed
	}
	applied, err := riversched.Migrate(ctx, pool)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: %v\n", source.RedactError(err, pool.Config().ConnConfig.Password))
		return exitFailed
	}
	return printJSON(stdout, map[string]any{"AppliedRiverMigrations": applied, "Queue": source.Redact(pool.Config().ConnString())})
}

// openQueue opens the queue database's pool from the option or its
// environment variable; on failure it returns nil and the exit code.
func openQueue(ctx context.Context, fs *flag.FlagSet, raw string, stderr io.Writer) (*pgxpool.Pool, int) {
	if raw == "" {
		raw = os.Getenv(envQueue)
	}
	if raw == "" {
		return nil, usage(fs, stderr, "--queue is required (or set "+envQueue+")")
	}
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --queue %q: %v\n", source.Redact(raw), err)
		return nil, exitUsage
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --queue %q: %v\n", source.Redact(raw), source.RedactError(err, cfg.ConnConfig.Password))
		return nil, exitFailed
	}
	return pool, exitOK
}

// workerCommand is `snapexport worker`.
func workerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg riversched.WorkerConfig
	queue := fs.String("queue", "", "queue database URL (postgres://…); default $"+envQueue)
	src := fs.String("source", "", "the coordinator's source, with this worker's own credentials (postgres://user@host/db); default $"+envSource+"; passwords from PGPASSWORD, ~/.pgpass, MYSQL_PWD")
	dst := fs.String("sink", "", "the task's destination (bucket name, s3://bucket?endpoint=…, file:///abs/dir); default $"+envSink+"; S3 credentials from the AWS chain")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "parts run at once, each on its own source connection")
	fs.Int64Var(&cfg.MemoryLimit, "memory-limit", 0, fmt.Sprintf("memory budget in bytes shared by the worker's parts (default %s)", bytesText(snapexport.DefaultMemoryLimit)))
	fs.StringVar(&cfg.QueueName, "queue-name", riversched.DefaultQueue, "River queue to work")
	fs.StringVar(&cfg.ID, "id", os.Getenv(envWorkerID), "the worker's name in the queue (default $"+envWorkerID+", else host-pid-random)")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", riversched.DefaultHeartbeat, "how often a running part tells the queue it is alive")
	fs.DurationVar(&cfg.RescueAfter, "rescue-after", riversched.DefaultRescueAfter, "a part silent for this long is taken for dead and run again elsewhere (the same on every worker)")
	stopGrace := fs.Duration("stop-grace", time.Minute, "on SIGTERM or Ctrl-C, how long running parts may finish before they are cancelled (and run again elsewhere)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: snapexport worker --queue postgres://…/queuedb --source URL --sink NAME-OR-URL [options]")
		fmt.Fprintln(fs.Output(), "\nRuns parts of distributed exports (start-export-task --queue) until stopped. It joins the coordinator's snapshot,")
		fmt.Fprintln(fs.Output(), "and refuses parts of another snapexport version or of another source than its own.\n\noptions:")
		printFlags(fs.Output(), fs)
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if cfg.Concurrency < 1 {
		return usage(fs, stderr, fmt.Sprintf("--concurrency %d: give at least 1", cfg.Concurrency))
	}
	if fs.Lookup("memory-limit").Value.String() != "0" && (cfg.MemoryLimit < minMemoryLimit || cfg.MemoryLimit > maxMemoryLimit) {
		return usage(fs, stderr, fmt.Sprintf("--memory-limit %d is out of range: give %s to %s", cfg.MemoryLimit, bytesText(minMemoryLimit), bytesText(maxMemoryLimit)))
	}
	if cfg.Heartbeat <= 0 || cfg.RescueAfter < 2*cfg.Heartbeat {
		return usage(fs, stderr, fmt.Sprintf("--rescue-after %s must be at least twice --heartbeat %s", cfg.RescueAfter, cfg.Heartbeat))
	}
	*src, *dst = orEnv(*src, envSource), orEnv(*dst, envSink)
	if *src == "" || *dst == "" {
		return usage(fs, stderr, "--source and --sink are required (or set "+envSource+" and "+envSink+")")
	}
	pool, code := openQueue(ctx, fs, *queue, stderr)
	if pool == nil {
		return code
	}
	defer pool.Close()
	return runWorker(ctx, cfg, pool, *src, *dst, *stopGrace, stderr)
}

func orEnv(v, env string) string {
	if v == "" {
		return os.Getenv(env)
	}
	return v
}

func runWorker(ctx context.Context, cfg riversched.WorkerConfig, pool *pgxpool.Pool, srcURL, dstURL string, stopGrace time.Duration, stderr io.Writer) int {
	src, err := source.OpenURL(ctx, srcURL)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --source %q: %v\n", source.Redact(srcURL), err)
		return exitFailed
	}
	defer src.Close()
	dst, err := sink.OpenURL(ctx, dstURL)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: --sink %q: %v\n", source.Redact(dstURL), err)
		return exitFailed
	}
	cfg.Queue, cfg.Source, cfg.Sink = pool, src, dst
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = snapexport.DefaultMemoryLimit
	}
	w, err := riversched.NewWorker(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "snapexport: %v\n", source.RedactError(err, pool.Config().ConnConfig.Password))
		return exitFailed
	}
	fmt.Fprintf(stderr, "snapexport: worker %s (snapexport %s) working queue %q of %s\n", w.ID(), riversched.Version(), cfg.QueueName, source.Redact(pool.Config().ConnString()))
	if err := w.Run(ctx, stopGrace); err != nil {
		fmt.Fprintf(stderr, "snapexport: %v\n", err)
		return exitFailed
	}
	return exitOK
}
