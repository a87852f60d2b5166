package mysql

import (
	"os"
	"testing"

	"github.com/snapexport/snapexport/bench/internal/scanbench"
	"github.com/snapexport/snapexport/writer"
)

// BenchmarkExport runs whole exports of one table (BENCH_TABLE, default
// sbtest1) of BENCH_DB (default snapexport_bench), Snappy unless
// BENCH_CODEC says otherwise (scanbench.Export), e.g.
//
//	BENCH_DB=snapexport_bench_10m go test ./bench/mysql -run '^$' -bench Export -benchtime 1x -cpuprofile /tmp/cpu.out
//	go tool pprof -top /tmp/cpu.out
func BenchmarkExport(b *testing.B) {
	db, table := os.Getenv("BENCH_DB"), os.Getenv("BENCH_TABLE")
	if db == "" {
		db = benchDatabase
	}
	if table == "" {
		table = tables[0]
	}
	scanbench.Export(b, benchURL(b), db+"."+table, writer.Snappy, "bash bench/mysql/run.sh --setup-only")
}
