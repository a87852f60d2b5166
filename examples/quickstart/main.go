// Quickstart exports a demo SQLite database to Parquet files in a local
// directory, with no server to set up:
//
//	go run ./examples/quickstart            # writes ./snapexport-out/
//	go run ./examples/quickstart /tmp/out   # writes /tmp/out/
//
// It builds the database in a temporary directory with database/sql and
// the modernc.org/sqlite driver (several tables, thousands of rows,
// integers, reals, text, blobs, NULLs, and one table with a column name RDS
// would skip), exports it with a progress line redrawn on a terminal (plain
// lines when the output is a file or a pipe), and prints what it wrote. It
// uses only the public API: copy it to start a program of your own.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to build the demo database

	"github.com/snapexport/snapexport"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := "snapexport-out"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := run(ctx, out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, stdout io.Writer) error {
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
	fmt.Fprintf(stdout, "building demo database %s\n", dbPath)
	if err := buildDemoDB(ctx, dbPath); err != nil {
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
	// A line redrawn in place suits a terminal; in a file or a pipe each
	// carriage return would be garbage, so print a line per status change.
	f, ok := stdout.(*os.File)
	onTerminal := ok && term.IsTerminal(int(f.Fd()))
	var last snapexport.Status
	for p := range task.Progress() {
		line := fmt.Sprintf("%-11s %3d%%  %d/%d tables  %d rows", p.Status, p.PercentProgress, p.TablesCompleted, p.TablesTotal, p.Rows)
		switch {
		case onTerminal:
			fmt.Fprintf(stdout, "\r\033[K%s", line)
		case p.Status != last:
			fmt.Fprintln(stdout, line)
		}
		last = p.Status
	}
	if onTerminal {
		fmt.Fprintln(stdout)
	}
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
	fmt.Fprintf(stdout, "\nexport %s is %s\n", rec.ExportTaskIdentifier, rec.Status)
	fmt.Fprintf(stdout, "  tables:   %d exported\n", rec.TablesCompleted)
	for _, t := range rec.Tables {
		fmt.Fprintf(stdout, "            %-24s %6d rows  %d file(s)\n", t.Target, t.Rows, t.Files)
	}
	fmt.Fprintf(stdout, "  rows:     %d\n", rec.ExportedRows)
	fmt.Fprintf(stdout, "  files:    %d Parquet files, %d bytes\n", files, rec.TotalExtractedDataInBytes)
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		return err
	}
	for _, s := range w.SkippedTables {
		fmt.Fprintf(stdout, "  skipped:  %s (%s: %s)\n", s.Target, s.Reason, s.Detail)
	}
	for _, g := range w.General {
		fmt.Fprintf(stdout, "  warning:  %s %s: %s\n", g.Target, g.Reason, g.Detail)
	}
	fmt.Fprintf(stdout, "  files in: %s\n", root)
	fmt.Fprintf(stdout, "  try:      duckdb -c \"SELECT count(*) FROM '%s/shop/main.orders/1/*.parquet'\"\n", root)
	return nil
}

// buildDemoDB writes a small shop database to path with database/sql.
func buildDemoDB(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range []string{
		`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(200), balance REAL, vip BOOLEAN, avatar BLOB, joined DATE)`,
		`CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), amount REAL, quantity INT, note TEXT)`,
		`CREATE TABLE events (at TEXT, kind TEXT, payload BLOB, score DOUBLE)`,
		// RDS does not export a table with a space in a column name: the
		// export skips it and says so in its warnings.
		`CREATE TABLE odd_columns (id INTEGER PRIMARY KEY, "first name" TEXT)`,
		`CREATE TABLE empty_things (id INTEGER PRIMARY KEY, label TEXT)`,
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	names := []string{"Ada", "Grace", "Linus", "Zoë", "Søren", "李雷", "Ω-man", ""}
	// Every few rows a NULL, so the files show how NULLs export.
	nullEvery := func(i, n int, v any) any {
		if i%n == 0 {
			return nil
		}
		return v
	}
	const customers, orders, events = 2000, 10000, 3000
	for i := 1; i <= customers; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)`, i, names[i%len(names)],
			nullEvery(i, 7, fmt.Sprintf("user%d@example.com", i)), nullEvery(i, 5, float64(i)*1.25-100), nullEvery(i, 3, i%2 == 0),
			nullEvery(i, 4, []byte{byte(i), 0, byte(i >> 8), 0xff}), nullEvery(i, 6, fmt.Sprintf("2024-%02d-%02d", i%12+1, i%28+1))); err != nil {
			return err
		}
	}
	for i := 1; i <= orders; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?, ?, ?, ?)`, i, i%customers+1, float64(i%1000)/10, i%9,
			nullEvery(i, 10, fmt.Sprintf("gift wrap #%d, “fragile”", i))); err != nil {
			return err
		}
	}
	kinds := []string{"login", "logout", "purchase", "error"}
	for i := 1; i <= events; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events VALUES (?, ?, ?, ?)`, fmt.Sprintf("2025-01-01T00:%02d:%02dZ", i/60%60, i%60),
			kinds[i%len(kinds)], nullEvery(i, 2, []byte(fmt.Sprintf(`{"n":%d}`, i))), nullEvery(i, 9, float64(i)/3)); err != nil {
			return err
		}
	}
	for i := 1; i <= 10; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO odd_columns VALUES (?, ?)`, i, "x"); err != nil {
			return err
		}
	}
	return tx.Commit()
}
