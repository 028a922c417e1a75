package command

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

// BenchmarkUtilWorkerList times `venus-sector-manager util worker list` against a manager holding
// 1,000 workers: the whole command in-process, from argument parsing through the RPC to the table.
func BenchmarkUtilWorkerList(b *testing.B) {
	logging.SetLevel(zapcore.ErrorLevel)
	b.Cleanup(func() { logging.SetLevel(zapcore.InfoLevel) })
	clk := &testClock{t: t0}
	addr, c := startUtilManager(b, clk)
	for i := 0; i < 1000; i++ {
		info := api.WorkerInfo{Name: fmt.Sprintf("worker-%04d", i), Dest: fmt.Sprintf("10.0.%d.%d:17890", i/250, i%250),
			Summary: api.WorkerInfoSummary{Threads: 8, Empty: 2, Paused: 1, Errors: 1}}
		if err := c.WorkerPing(b.Context(), info); err != nil {
			b.Fatal(err)
		}
	}
	out := util(b, addr, "worker", "list")
	if out.code != 0 || strings.Count(out.stdout, "\n") != 1001 {
		b.Fatalf("list: status %d, %d lines, stderr %s", out.code, strings.Count(out.stdout, "\n"), out.stderr)
	}

	argv := []string{"venus-sector-manager", "util", "--listen", addr, "worker", "list"}
	b.ResetTimer()
	for b.Loop() {
		if code := run(b.Context(), argv, io.Discard, io.Discard); code != 0 {
			b.Fatalf("status %d", code)
		}
	}
}
