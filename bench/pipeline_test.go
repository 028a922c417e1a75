// Package bench measures what this project owns around the proofs: the sealing pipeline's own
// overhead, the manager under many workers, the worker's footprint, its recovery. Figures are
// ratios or counts (see BENCHMARKS.md, written by `make bench`), because these machines are
// shared and noisy.
package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/daemon"
	"github.com/ipfs-force-community/venus-cluster-go/worker/limit"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/setup"
	"github.com/ipfs-force-community/venus-cluster-go/worker/sealing"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
	"github.com/ipfs-force-community/venus-cluster-go/worker/telemetry"
)

// startRig serves a benchManager on loopback and opens a worker daemon with n sealing threads
// against it, in process.
func startRig(b *testing.B, threads int, sectors int64) (*benchManager, *daemon.Daemon) {
	b.Helper()
	quiet(b)
	m := newBenchManager(b, sectors)
	addr := serveManager(b, m)
	c, err := config.Parse([]byte(workerConfig(b, b.TempDir(), addr, threads, fast)))
	if err != nil {
		b.Fatal(err)
	}
	d, err := daemon.New(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	return m, d
}

// BenchmarkPipeline measures how many sectors per second the pipeline moves from Empty to
// Finished when every processor is the default build's mock (no sleeps): what is left is the
// project's own overhead (manager round trips, fsync'd job records, reports, file persistence of
// 2KiB sectors). x_fsync is the time of one sector on one thread in units of one 4KiB fdatasync
// on the same disk, measured in the same run. cpu_ms/sector is the CPU time (user and system) of
// the whole process, manager included, per sector: nproc/cpu_ms/sector bounds sectors/s here.
func BenchmarkPipeline(b *testing.B) {
	for _, threads := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			sectors := int64(b.N)
			m, d := startRig(b, threads, sectors)
			fsync := fsyncLatency(b, b.TempDir(), 100)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan error, 1)
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			go func() { stopped <- d.Run(ctx) }()
			select {
			case <-m.done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d sectors finished", m.finalized.Load(), sectors)
			}
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			cancel()
			<-stopped
			b.ReportMetric(ms(cpu)/float64(sectors), "cpu_ms/sector")
			perSectorThread := elapsed * time.Duration(threads) / time.Duration(sectors)
			b.ReportMetric(float64(sectors)/elapsed.Seconds(), "sectors/s")
			b.ReportMetric(ms(perSectorThread), "ms/sector/thread")
			b.ReportMetric(float64(m.calls.Load())/float64(sectors), "counted-rpcs/sector")
			b.ReportMetric(ms(fsync), "fsync_ms")
			b.ReportMetric(float64(perSectorThread)/float64(fsync), "x_fsync")
		})
	}
}

// timer sums the wall time of calls by name.
type timer struct {
	mu    sync.Mutex
	time  map[string]time.Duration
	count map[string]int64
}

func newTimer() *timer {
	return &timer{time: map[string]time.Duration{}, count: map[string]int64{}}
}

func (t *timer) add(name string, d time.Duration) {
	t.mu.Lock()
	t.time[name] += d
	t.count[name]++
	t.mu.Unlock()
}

// timeClient has every call of a go-jsonrpc func-field client timed into t.
func timeClient(c any, t *timer) {
	api.ObserveCalls(c, func(method string, took time.Duration, _ error) { t.add(method, took) })
}

func timed[I, O any](p processor.Processor[I, O], name string, t *timer) processor.Processor[I, O] {
	return processor.Func[I, O](func(ctx context.Context, task I) (O, error) {
		start := time.Now()
		out, err := p.Process(ctx, task)
		t.add(name, time.Since(start))
		return out, err
	})
}

// BenchmarkPipelineBreakdown runs the pipeline of BenchmarkPipeline wired by hand, as
// daemon.New wires it, with every manager call and every processor timed, and the kvstore's
// commits and the store's fsyncs counted: where a sector's time goes, per sector, in
// milliseconds of thread time (so with 64 threads they include the waits behind each other).
// The stand-in processors (tree_d, PC1, PC2, C1, C2 of the default build) are what ffi replaces;
// pipeline_ms is the rest, the project's own overhead. transfer (copying the sealed file and
// cache to the persist store) is the worker's own code and stays in it.
func BenchmarkPipelineBreakdown(b *testing.B) {
	for _, threads := range []int{1, 64} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			quiet(b)
			sectors := int64(b.N)
			m := newBenchManager(b, sectors)
			addr := serveManager(b, m)
			cfg, err := config.Parse([]byte(workerConfig(b, b.TempDir(), addr, threads, fast)))
			if err != nil {
				b.Fatal(err)
			}
			rpcs, procs := newTimer(), newTimer()
			pool := handWiredPool(b, cfg, rpcs, procs, nil)
			fsync := fsyncLatency(b, b.TempDir(), 100)

			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			kv0, sync0 := kvstore.ReadStats(), store.ReadSyncStats()
			b.ResetTimer()
			start := time.Now()
			go func() { defer close(stopped); pool.Run(ctx) }()
			select {
			case <-m.done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d sectors finished", m.finalized.Load(), sectors)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			kv, syncs := kvstore.ReadStats(), store.ReadSyncStats()
			cancel()
			<-stopped

			n := float64(sectors)
			per := func(d time.Duration) float64 { return ms(d) / n }
			var stand, reports, calls time.Duration
			var reportN, callN int64
			for name, d := range procs.time {
				if name != "transfer" {
					stand += d
				}
			}
			for name, d := range rpcs.time {
				if name == "ReportState" {
					reports, reportN = d, rpcs.count[name]
				} else {
					calls += d
					callN += rpcs.count[name]
				}
			}
			total := elapsed * time.Duration(threads)
			commits := kv.CommitTime - kv0.CommitTime
			transfer := procs.time["transfer"]
			b.ReportMetric(per(total), "total_ms")
			b.ReportMetric(per(stand), "standin_ms")
			b.ReportMetric(per(total-stand), "pipeline_ms")
			b.ReportMetric(per(commits), "commit_ms")
			b.ReportMetric(float64(kv.Commits-kv0.Commits)/n, "commits/sector")
			b.ReportMetric(per(reports), "report_ms")
			b.ReportMetric(float64(reportN)/n, "reports/sector")
			b.ReportMetric(per(calls), "call_ms")
			b.ReportMetric(float64(callN)/n, "calls/sector")
			b.ReportMetric(per(transfer), "transfer_ms")
			b.ReportMetric(float64(syncs.Syncs-sync0.Syncs)/n, "file_fsyncs/sector")
			// Reports go out from each thread's reporter, beside its path: not part of total.
			b.ReportMetric(per(total-stand-commits-calls-transfer), "other_ms")
			b.ReportMetric(ms(fsync), "fsync_ms")
			if testing.Verbose() {
				names := make([]string, 0, len(procs.time))
				for name := range procs.time {
					names = append(names, name)
				}
				sort.Strings(names)
				for _, name := range names {
					b.Logf("processor %s: %.2f ms/sector", name, per(procs.time[name]))
				}
			}
		})
	}
}

// handWiredPool is daemon.New's sealing pool with a timed manager client and timed processors,
// recording into rec as the daemon does when rec is not nil (metrics off when it is).
func handWiredPool(b *testing.B, cfg *config.Config, rpcs, procs *timer, rec *telemetry.Recorder) *sealing.Pool {
	b.Helper()
	ctx := context.Background()
	rpc, closeRPC, err := api.NewManagerClient(ctx, cfg.SectorManager.Addr.URL(api.ManagerRPCPath), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeRPC)
	timeClient(rpc, rpcs)
	limits, locks := limit.NewStagePool(cfg.Processors.Limitation), limit.NewLocks(cfg.Processors.ExtLocks)
	var restarted func(string)
	var observer sealing.Observer
	if rec != nil {
		api.ObserveCalls(rpc, rec.ManagerCall)
		limits.ObserveWaits(rec.Waited)
		locks.ObserveWaits(rec.Waited)
		restarted, observer = rec.Restarted, rec
	}
	set, closer, err := setup.Build(ctx, cfg.Processors, locks, restarted)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closer.Close() })
	set.TreeD = timed(set.TreeD, "tree_d", procs)
	set.PC1 = timed(set.PC1, "pc1", procs)
	set.PC2 = timed(set.PC2, "pc2", procs)
	set.C1 = timed(set.C1, "c1", procs)
	set.C2 = timed(set.C2, "c2", procs)
	set.Transfer = timed(set.Transfer, "transfer", procs)
	var stores []*store.Attached
	for _, a := range cfg.AttachedStores() {
		st, err := store.OpenAttached(a.Location, a.Name, a.ReadOnly)
		if err != nil {
			b.Fatal(err)
		}
		stores = append(stores, st)
	}
	attached, err := store.NewAttachedSet(stores)
	if err != nil {
		b.Fatal(err)
	}
	env := &sealing.Env{RPC: rpc, Procs: set, Limits: limits, Attached: attached, Instance: "bench", Observer: observer}
	pool := &sealing.Pool{}
	for _, tc := range cfg.Threads() {
		loc, err := store.OpenLocation(tc.Location)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { loc.Close() })
		pool.Threads = append(pool.Threads, sealing.NewThread(len(pool.Threads), tc.Plan, tc.Sealing, loc, env, logging.Logger("sealing")))
	}
	return pool
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
