package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/sealing"
	"github.com/ipfs-force-community/venus-cluster-go/worker/telemetry"
)

// metricsRounds is how many times each of metrics off and on runs, alternating, so that a drift
// of the machine during the benchmark falls on both.
const metricsRounds = 3

// BenchmarkPipelineMetrics is the pipeline of BenchmarkPipelineBreakdown run with the worker's
// metrics off and on, alternating, metricsRounds times each, b.N sectors a round: on, every
// state change, stage, limitation wait and manager call is recorded as the daemon records it,
// and the registry is scraped every second (Prometheus's default is 15 s). It reports the
// thread time per sector of each, best round of each, and on over off.
func BenchmarkPipelineMetrics(b *testing.B) {
	for _, threads := range []int{1, 8} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			quiet(b)
			best := map[bool]time.Duration{}
			for round := 0; round < 2*metricsRounds; round++ {
				on := round%2 == 1
				took := pipelineRound(b, threads, int64(b.N), on)
				if cur, ok := best[on]; !ok || took < cur {
					best[on] = took
				}
			}
			per := func(d time.Duration) float64 { return ms(d*time.Duration(threads)) / float64(b.N) }
			b.ReportMetric(per(best[false]), "off_ms/sector/thread")
			b.ReportMetric(per(best[true]), "on_ms/sector/thread")
			b.ReportMetric(float64(best[true])/float64(best[false]), "on_x_off")
		})
	}
}

// pipelineRound seals sectors on a fresh hand-wired pool and returns how long they took.
func pipelineRound(b *testing.B, threads int, sectors int64, withMetrics bool) time.Duration {
	b.Helper()
	m := newBenchManager(b, sectors)
	addr := serveManager(b, m)
	cfg, err := config.Parse([]byte(workerConfig(b, b.TempDir(), addr, threads, fast)))
	if err != nil {
		b.Fatal(err)
	}
	var rec *telemetry.Recorder
	var pool *sealing.Pool
	reg := metrics.NewRegistry()
	if withMetrics {
		rec = telemetry.New(reg, telemetry.Sources{Threads: func() []telemetry.Thread { return telemetry.ThreadsOf(pool) }, Drained: func() bool { return pool.Drained() }})
	}
	pool = handWiredPool(b, cfg, newTimer(), newTimer(), rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if withMetrics {
		go scrapeEvery(ctx, reg, time.Second)
	}
	stopped := make(chan struct{})
	start := time.Now()
	go func() { defer close(stopped); pool.Run(ctx) }()
	select {
	case <-m.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d sectors finished", m.finalized.Load(), sectors)
	}
	took := time.Since(start)
	cancel()
	<-stopped
	return took
}

// scrapeEvery scrapes reg in process every period until ctx ends, as a Prometheus server would.
func scrapeEvery(ctx context.Context, reg *prometheus.Registry, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	h := metrics.Handler(reg)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, metrics.Path, nil))
		}
	}
}

// scrapeLatencies times n sequential GETs of a daemon's /debug/metrics, sorted, and returns the
// size of the last body.
func scrapeLatencies(tb testing.TB, addr string, n int) ([]time.Duration, int) {
	tb.Helper()
	out := make([]time.Duration, n)
	size := 0
	for i := range out {
		start := time.Now()
		resp, err := http.Get("http://" + addr + metrics.Path)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[i] = time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("scrape %s: %d %v", addr, resp.StatusCode, err)
		}
		size = len(body)
	}
	sortDurations(out)
	return out, size
}
