package memsink_test

import (
	"context"
	"fmt"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
)

// A test hands a mem:// URL to code that opens sinks by URL, then inspects
// what was written through the store of the same name.
func Example() {
	ctx := context.Background()
	s, err := sink.OpenURL(ctx, "mem://example")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for _, key := range []string{"task/export_info_task.json", "task/db/public.t/1/part-00000.gz.parquet"} {
		if err := sink.WriteObject(ctx, s, key, []byte("..."), nil); err != nil {
			panic(err)
		}
	}

	store := memsink.New("example")
	fmt.Println(store.Keys())
	for obj, err := range store.List(ctx, "task/db/") {
		if err != nil {
			panic(err)
		}
		fmt.Println(obj.Key, obj.Size)
	}
	// Output:
	// [task/db/public.t/1/part-00000.gz.parquet task/export_info_task.json]
	// task/db/public.t/1/part-00000.gz.parquet 3
}
