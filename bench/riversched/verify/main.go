// Command verify checks the output of one export for bench/riversched:
//
//	verify SINK-URL TASK-ID
//	verify -balances SINK-URL TASK-ID
//
// It downloads every data file of the task, checks that the files present
// are exactly the files its tables info lists and that no abandoned write
// (incomplete multipart upload, temporary file) is left under the task,
// and prints one line per table: folder, rows, sum of the first column,
// and bit_xor of the hash of every row (all columns), computed by DuckDB.
// Two exports of the same snapshot print the same lines. It exits 1 on a
// mismatch or a leftover. With -balances it prints instead the sums of
// pgbench's abalance, tbalance and bbalance, which TPC-B transactions keep
// equal: one snapshot shows them equal, a torn read does not.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/sink/s3sink"
)

func main() {
	args := os.Args[1:]
	balances := len(args) > 0 && args[0] == "-balances"
	if balances {
		args = args[1:]
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verify [-balances] SINK-URL TASK-ID")
		os.Exit(2)
	}
	if err := run(context.Background(), args[0], args[1], balances); err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dest, id string, balances bool) error {
	s, err := sink.OpenURL(ctx, dest)
	if err != nil {
		return err
	}
	defer s.Close()
	listed, err := listedFiles(ctx, s, id)
	if err != nil {
		return err
	}
	local, err := os.MkdirTemp("", "verify")
	if err != nil {
		return err
	}
	defer os.RemoveAll(local)
	var present []string
	tables := map[string]bool{}
	for obj, err := range s.List(ctx, id+"/") {
		if err != nil {
			return err
		}
		if !strings.HasSuffix(obj.Key, ".parquet") {
			continue
		}
		present = append(present, obj.Key)
		b, err := sink.ReadObject(ctx, s, obj.Key)
		if err != nil {
			return err
		}
		p := filepath.Join(local, obj.Key)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		parts := strings.Split(obj.Key, "/")
		tables[strings.Join(parts[1:len(parts)-2], "/")] = true
	}
	slices.Sort(listed)
	slices.Sort(present)
	if !slices.Equal(listed, present) {
		return fmt.Errorf("%d files present, %d listed in the tables info: they differ (leftover or missing files)", len(present), len(listed))
	}
	if sw, ok := s.(sink.Sweeper); ok {
		for a, err := range sw.Abandoned(ctx, id+"/") {
			if err != nil {
				return err
			}
			return fmt.Errorf("abandoned write left: %s (%s)", a.Key, a.ID)
		}
	}
	if balances {
		return printBalances(local, id, tables)
	}
	return digest(local, id, tables)
}

// printBalances prints the sums of pgbench's three balance columns.
func printBalances(local, id string, tables map[string]bool) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	var sums []string
	for _, tc := range [][2]string{{"accounts", "abalance"}, {"tellers", "tbalance"}, {"branches", "bbalance"}} {
		for t := range tables {
			if strings.HasSuffix(t, ".pgbench_"+tc[0]) {
				var sum sql.NullString
				if err := db.QueryRow("SELECT sum("+tc[1]+")::VARCHAR FROM read_parquet(?)", filepath.Join(local, id, t, "*", "*.parquet")).Scan(&sum); err != nil {
					return err
				}
				sums = append(sums, tc[1]+"="+sum.String)
			}
		}
	}
	fmt.Println(strings.Join(sums, " "))
	return nil
}

func listedFiles(ctx context.Context, s sink.Sink, id string) ([]string, error) {
	var listed []string
	for obj, err := range s.List(ctx, id+"/export_tables_info_") {
		if err != nil {
			return nil, err
		}
		b, err := sink.ReadObject(ctx, s, obj.Key)
		if err != nil {
			return nil, err
		}
		var ti manifest.TablesInfo
		if err := json.Unmarshal(b, &ti); err != nil {
			return nil, err
		}
		for _, ts := range ti.PerTableStatus {
			if ts.TableStatistics != nil {
				listed = append(listed, ts.TableStatistics.Files...)
			}
		}
	}
	return listed, nil
}

func digest(local, id string, tables map[string]bool) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, t := range names {
		glob := filepath.Join(local, id, t, "*", "*.parquet")
		var first string
		if err := db.QueryRow(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?)) LIMIT 1`, glob).Scan(&first); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		var rows int64
		var sum, hash sql.NullString
		q := `SELECT count(*), sum(CAST("` + strings.ReplaceAll(first, `"`, `""`) + `" AS HUGEINT))::VARCHAR, bit_xor(hash(r))::VARCHAR FROM read_parquet(?) r`
		if err := db.QueryRow(q, glob).Scan(&rows, &sum, &hash); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		fmt.Printf("%s\t%d\t%s\t%s\n", t, rows, sum.String, hash.String)
	}
	return nil
}
