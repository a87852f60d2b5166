package snapexport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
	"github.com/snapexport/snapexport/sink/memsink"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)

// Export a SQLite database into memory and list what was written.
func ExampleExporter_StartExportTask() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "shop.db")
	if err := demodb.Create(ctx, dbPath, 1); err != nil {
		panic(err)
	}

	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		panic(err)
	}
	defer exp.Close()
	lake := memsink.New("example-lake")
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "example-1",
		SourceArn:            "sqlite://" + dbPath,
		Sink:                 lake,
		ExportOnly:           []string{"shop.orders", "shop.customers"},
	})
	if err != nil {
		panic(err)
	}
	rec, err := task.Wait(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Status, rec.ExportedRows, "rows")
	for _, key := range lake.Keys() {
		// Mask the random part of the file names.
		if i := strings.Index(key, "part-00000-"); i >= 0 {
			key = key[:i] + "part-00000-<uuid>.gz.parquet"
		}
		fmt.Println(key)
	}
	// Output:
	// COMPLETE 12000 rows
	// example-1/export_info_example-1.json
	// example-1/export_tables_info_example-1_from_1_to_2.json
	// example-1/lease_example-1_1.json
	// example-1/shop/main.customers/1/part-00000-<uuid>.gz.parquet
	// example-1/shop/main.orders/1/part-00000-<uuid>.gz.parquet
}
