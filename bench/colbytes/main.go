// Command colbytes prints the bytes each column takes in the Parquet files
// under the directories and files given (the sum of its column chunks'
// total_compressed_size, page headers included), one "column<TAB>bytes"
// line per column in file order, then "total<TAB>bytes" for the files'
// sizes. bench/pg and bench/mysql run it on one export and one DuckDB
// file of each codec for the per-column table.
//
//	colbytes DIR-OR-FILE...
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

func main() {
	var files []string
	for _, arg := range os.Args[1:] {
		err := filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "colbytes:", err)
			os.Exit(1)
		}
	}
	var order []string
	bytes := map[string]int64{}
	var total int64
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "colbytes:", err)
			os.Exit(1)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			fmt.Fprintf(os.Stderr, "colbytes: %s: %v\n", path, err)
			os.Exit(1)
		}
		total += st.Size()
		for _, rg := range pf.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				name := strings.Join(cc.MetaData.PathInSchema, ".")
				if _, ok := bytes[name]; !ok {
					order = append(order, name)
				}
				bytes[name] += cc.MetaData.TotalCompressedSize
			}
		}
		f.Close()
	}
	for _, name := range order {
		fmt.Printf("%s\t%d\n", name, bytes[name])
	}
	fmt.Printf("total\t%d\n", total)
}
