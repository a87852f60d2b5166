// Notify exports a database and posts every task event to an HTTP webhook
// as JSON, the way RDS sends its export events (RDS-EVENT-0159 failed,
// RDS-EVENT-0160 canceled, RDS-EVENT-0161 completed) to SNS:
//
//	go run ./examples/notify -webhook http://127.0.0.1:8080/hook \
//	    -source sqlite:///abs/shop.db -dest file:///tmp/lake -id nightly-1
//
// With no -source it exports a demo SQLite database it builds itself with
// database/sql. It uses only the public API: copy it to start your own.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to build the demo database

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/sink/s3sink"
	_ "github.com/snapexport/snapexport/source/mysqlsource"
	_ "github.com/snapexport/snapexport/source/pgsource"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	webhook := fs.String("webhook", "", "URL every event is POSTed to as JSON (required)")
	src := fs.String("source", "", "database URL (default: a demo SQLite database)")
	dest := fs.String("dest", "", "destination URL (default: a temporary directory)")
	id := fs.String("id", "notify-"+time.Now().UTC().Format("20060102-150405"), "export task identifier")
	maxValue := fs.Int64("max-value-bytes", 0, "fail on values this large (to see a failed event)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *webhook == "" {
		return fmt.Errorf("-webhook is required")
	}
	tmp, err := os.MkdirTemp("", "snapexport-notify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *src == "" {
		path := filepath.Join(tmp, "shop.db")
		if err := buildDemoDB(ctx, path); err != nil {
			return err
		}
		*src = "sqlite://" + path
	}
	if *dest == "" {
		*dest = "file://" + filepath.Join(tmp, "lake")
	}

	// The callback posts each event before the export goes on: the webhook
	// sees them in order, and none is lost when the program exits after
	// Wait. (TaskOptions.Events delivers the same events on a channel.)
	var postErr error
	onEvent := func(e snapexport.Event) {
		if err := post(ctx, *webhook, e); err != nil && postErr == nil {
			postErr = err
		}
	}

	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		return err
	}
	defer exp.Close()
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: *id, SourceArn: *src, S3BucketName: *dest,
		Options: &snapexport.TaskOptions{OnEvent: onEvent, MaxValueBytes: *maxValue},
	})
	if err != nil {
		return err
	}
	rec, _ := task.Wait(context.WithoutCancel(ctx)) // the final event was posted before Wait returns
	if postErr != nil {
		return postErr
	}
	fmt.Printf("export %s ended %s\n", rec.ExportTaskIdentifier, rec.Status)
	return nil
}

func post(ctx context.Context, url string, e snapexport.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook %s answered %s to event %s", url, resp.Status, e.Type)
	}
	return nil
}

// buildDemoDB writes a one-table database to path: enough for a task to
// start, export and end.
func buildDemoDB(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, note TEXT);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
		INSERT INTO orders SELECT i, i / 10.0, 'order ' || i FROM n`)
	return err
}
