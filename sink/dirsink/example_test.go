package dirsink_test

import (
	"context"
	"fmt"
	"os"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dirsink-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := dirsink.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for _, key := range []string{"task/db/public.t/1/part-00000.gz.parquet", "task/db/public.t/10/part-00000.gz.parquet", "task/export_info_task.json"} {
		if err := sink.WriteObject(ctx, s, key, []byte("..."), nil); err != nil {
			panic(err)
		}
	}
	// Keys come back in lexical order, as S3 lists them: "1/" before "10/".
	for obj, err := range s.List(ctx, "task/") {
		if err != nil {
			panic(err)
		}
		fmt.Println(obj.Key, obj.Size)
	}
	// Output:
	// task/db/public.t/1/part-00000.gz.parquet 3
	// task/db/public.t/10/part-00000.gz.parquet 3
	// task/export_info_task.json 3
}
