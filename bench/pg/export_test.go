package pg

import (
	"os"
	"testing"

	"github.com/snapexport/snapexport/bench/internal/scanbench"
	"github.com/snapexport/snapexport/writer"
)

// BenchmarkExport runs whole exports of one table (BENCH_TABLE, default
// pgbench_accounts) of the bench database, GZIP unless BENCH_CODEC says
// otherwise (scanbench.Export), e.g.
//
//	go test ./bench/pg -run '^$' -bench Export -benchtime 1x -cpuprofile /tmp/cpu.out
//	go tool pprof -top /tmp/cpu.out
func BenchmarkExport(b *testing.B) {
	table := os.Getenv("BENCH_TABLE")
	if table == "" {
		table = tables[0]
	}
	scanbench.Export(b, benchURL(b), benchDatabase+".public."+table, writer.Gzip, "bash bench/pg/run.sh --setup-only")
}
