// Command colbytes prints the bytes each column takes in the Parquet files
// under the directories and files given (the sum of its column chunks'
// total_compressed_size, page headers included), one "column<TAB>bytes"
// line per column in file order, then "total<TAB>bytes" for the files'
// sizes. bench/pg and bench/mysql run it on one export and one DuckDB
// file of each codec for the per-column table.
//
// With -v it prints, instead, where each column's bytes go: row groups,
// the encodings of its chunks, its dictionary pages' bytes (compressed),
// its data pages' bytes and their uncompressed size, so that two writers'
// files can be compared column by column.
//
//	colbytes [-v] DIR-OR-FILE...
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// profile is what -v prints of one column.
type profile struct {
	bytes, dictBytes, uncompressed int64
	chunks                         int
	encodings                      map[string]bool
	physical                       string
}

func main() {
	verbose := flag.Bool("v", false, "print the encodings, dictionary and data bytes of every column")
	flag.Parse()
	var files []string
	for _, arg := range flag.Args() {
		err := filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			fail(err)
		}
	}
	var order []string
	cols := map[string]*profile{}
	var total int64
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			fail(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		total += st.Size()
		for _, rg := range pf.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				md := cc.MetaData
				name := strings.Join(md.PathInSchema, ".")
				p := cols[name]
				if p == nil {
					p = &profile{encodings: map[string]bool{}, physical: md.Type.String()}
					cols[name] = p
					order = append(order, name)
				}
				p.bytes += md.TotalCompressedSize
				p.uncompressed += md.TotalUncompressedSize
				p.chunks++
				if md.DictionaryPageOffset > 0 {
					p.dictBytes += md.DataPageOffset - md.DictionaryPageOffset
				}
				for _, e := range md.Encoding {
					p.encodings[e.String()] = true
				}
			}
		}
		f.Close()
	}
	if !*verbose {
		for _, name := range order {
			fmt.Printf("%s\t%d\n", name, cols[name].bytes)
		}
		fmt.Printf("total\t%d\n", total)
		return
	}
	fmt.Println("column\ttype\tchunks\tencodings\tbytes\tdictionary bytes\tdata bytes\tuncompressed")
	for _, name := range order {
		p := cols[name]
		var encs []string
		for e := range p.encodings {
			encs = append(encs, e)
		}
		sort.Strings(encs)
		fmt.Printf("%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\n", name, p.physical, p.chunks, strings.Join(encs, ","),
			p.bytes, p.dictBytes, p.bytes-p.dictBytes, p.uncompressed)
	}
	fmt.Printf("total\t\t\t\t%d\n", total)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "colbytes:", err)
	os.Exit(1)
}
