// Quickstart exports a demo SQLite database to Parquet files in a local
// directory, with no server to set up:
//
//	go run ./examples/quickstart            # writes ./snapexport-out/
//	go run ./examples/quickstart /tmp/out   # writes /tmp/out/
//
// It builds the database in a temporary directory (several tables,
// thousands of rows, integers, reals, text, blobs, NULLs, and one table
// with a column name RDS would skip), exports it with progress on the
// terminal, and prints what it wrote.
package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	out := "snapexport-out"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "snapexport-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dbPath := filepath.Join(tmp, "shop.db")
	fmt.Printf("building demo database %s\n", dbPath)
	if err := demodb.Create(ctx, dbPath, 1); err != nil {
		return err
	}

	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		return err
	}
	defer exp.Close()
	id := "quickstart-" + time.Now().UTC().Format("20060102-150405")
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: id,
		SourceArn:            "sqlite://" + dbPath,
		S3BucketName:         "file://" + out,
	})
	if err != nil {
		return err
	}
	for p := range task.Progress() {
		fmt.Printf("\r%-11s %3d%%  %d/%d tables  %d rows", p.Status, p.PercentProgress, p.TablesCompleted, p.TablesTotal, p.Rows)
	}
	fmt.Println()
	rec, err := task.Wait(ctx)
	if err != nil {
		return err
	}

	root := filepath.Join(out, id)
	var files int
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".parquet") {
			files++
		}
		return nil
	})
	fmt.Printf("\nexport %s is %s\n", rec.ExportTaskIdentifier, rec.Status)
	fmt.Printf("  tables:   %d exported\n", rec.TablesCompleted)
	for _, t := range rec.Tables {
		fmt.Printf("            %-24s %6d rows  %d file(s)\n", t.Target, t.Rows, t.Files)
	}
	fmt.Printf("  rows:     %d\n", rec.ExportedRows)
	fmt.Printf("  files:    %d Parquet files, %d bytes\n", files, rec.TotalExtractedDataInBytes)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		return err
	}
	for _, s := range w.SkippedTables {
		fmt.Printf("  skipped:  %s (%s: %s)\n", s.Target, s.Reason, s.Detail)
	}
	for _, g := range w.General {
		fmt.Printf("  warning:  %s %s: %s\n", g.Target, g.Reason, g.Detail)
	}
	fmt.Printf("  files in: %s\n", root)
	fmt.Printf("  try:      duckdb -c \"SELECT count(*) FROM '%s/shop/main.orders/1/*.parquet'\"\n", root)
	return nil
}
