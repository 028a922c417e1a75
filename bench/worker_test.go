package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// workerProc is a real `venus-worker daemon` process.
type workerProc struct {
	cmd    *exec.Cmd
	admin  string
	log    string
	exited chan struct{}
}

// freePort is a loopback port nothing listens on right now.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startWorkerProc writes a config with threads sealing locations under dir (reusing those that
// exist) and starts the daemon on it; it is killed when the benchmark ends.
func startWorkerProc(tb testing.TB, dir, managerAddr string, threads int, p pace) *workerProc {
	tb.Helper()
	port := freePort(tb)
	cfg := filepath.Join(dir, "worker.toml")
	if err := os.WriteFile(cfg, []byte(workerConfigOn(tb, dir, managerAddr, threads, p, port)), 0o644); err != nil {
		tb.Fatal(err)
	}
	logf, err := os.CreateTemp(dir, "worker-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin(tb, "venus-worker"), "daemon", "-c", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "VENUS_LOG=warn")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := &workerProc{cmd: cmd, admin: fmt.Sprintf("127.0.0.1:%d", port), log: logf.Name(), exited: make(chan struct{})}
	go func() { cmd.Wait(); close(w.exited) }()
	tb.Cleanup(func() {
		w.kill()
		if tb.Failed() {
			out, _ := os.ReadFile(w.log)
			tb.Logf("worker log:\n%s", out)
		}
	})
	return w
}

func (w *workerProc) pid() string { return strconv.Itoa(w.cmd.Process.Pid) }

// kill ends the process with SIGKILL, as a crash would.
func (w *workerProc) kill() {
	select {
	case <-w.exited:
	default:
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.exited
	}
}

func (w *workerProc) adminClient(tb testing.TB) *api.WorkerAdminClient {
	tb.Helper()
	waitUntil(tb, 30*time.Second, "worker admin api", func() bool {
		c, err := net.DialTimeout("tcp", w.admin, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	c, closer, err := api.NewWorkerAdminClient(context.Background(), w.admin, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closer)
	return c
}

// listLatencies times n sequential VenusWorker.WorkerList calls, sorted.
func listLatencies(tb testing.TB, c *api.WorkerAdminClient, threads, n int) []time.Duration {
	tb.Helper()
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		list, err := c.WorkerList(context.Background())
		out[i] = time.Since(start)
		if err != nil || len(list) != threads {
			tb.Fatalf("WorkerList: %d threads, %v", len(list), err)
		}
	}
	sortDurations(out)
	return out
}

// footprintPace keeps idle threads nearly idle (one AllocateSector every 2s each) while letting
// them start sealing within 2s once the manager has sectors.
var footprintPace = pace{recover: "2s", polling: "10ms"}

// BenchmarkWorkerFootprint starts a real `venus-worker daemon` with 1, 64 and 256 sealing
// threads against a manager that has nothing to seal, and reads its VmRSS once every thread
// has asked for a sector (rss_MiB; x_1thread is against the 1-thread worker of the same run).
// With 256 threads it then times VenusWorker.WorkerList (one call at a time): idle (500 calls,
// the baseline); churning (200 calls), every thread sealing 2KiB sectors back to back with the
// mock processors, so every thread changes state all the time and the two cores are saturated
// by the worker and the in-process manager; and held (500 calls), every thread holding a sector
// (each stopped at WaitSeed, as threads sit in a long step when sealing for real).
// list_p50_ms and list_p99_ms are the held figures; *_x_idle_p99 are ratios to the idle p99.
// Run it with -benchtime 1x: one iteration is the whole measurement.
func BenchmarkWorkerFootprint(b *testing.B) {
	var rss1 float64
	for _, threads := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			quiet(b)
			for i := 0; i < b.N; i++ {
				m := newBenchManager(b, 0)
				addr := serveManager(b, m)
				w := startWorkerProc(b, b.TempDir(), addr, threads, footprintPace)
				c := w.adminClient(b)
				waitUntil(b, time.Minute, "every thread asking for a sector", func() bool { return m.allocAsks.Load() >= int64(threads) })
				time.Sleep(time.Second)
				rss := float64(vmRSS(b, w.pid())) / (1 << 20)
				if threads == 1 {
					rss1 = rss
				}
				b.ReportMetric(rss, "rss_MiB")
				if rss1 > 0 {
					b.ReportMetric(rss/rss1, "x_1thread")
				}
				if threads != 256 {
					continue
				}
				idleLat := listLatencies(b, c, threads, 500)
				m.limit.Store(1 << 40)
				waitUntil(b, time.Minute, "every thread sealing", func() bool { return m.allocated.Load() >= int64(threads) })
				churnLat := listLatencies(b, c, threads, 200)
				b.ReportMetric(float64(vmRSS(b, w.pid()))/(1<<20), "busy_rss_MiB")
				m.resetSeeded()
				m.holdSeeds.Store(true)
				waitUntil(b, time.Minute, "every thread holding a job", func() bool { n, _ := m.seededCount(); return n == threads })
				heldLat := listLatencies(b, c, threads, 500)
				scrapeLat, scrapeSize := scrapeLatencies(b, w.admin, 200)
				b.ReportMetric(ms(percentile(scrapeLat, 50)), "scrape_p50_ms")
				b.ReportMetric(ms(percentile(scrapeLat, 99)), "scrape_p99_ms")
				b.ReportMetric(float64(scrapeSize)/1024, "scrape_KiB")
				b.ReportMetric(float64(percentile(scrapeLat, 50))/float64(percentile(heldLat, 50)), "scrape_x_list_p50")
				b.ReportMetric(ms(percentile(heldLat, 50)), "list_p50_ms")
				b.ReportMetric(ms(percentile(heldLat, 99)), "list_p99_ms")
				b.ReportMetric(ms(percentile(idleLat, 99)), "idle_list_p99_ms")
				b.ReportMetric(float64(percentile(heldLat, 99))/float64(percentile(idleLat, 99)), "held_x_idle_p99")
				b.ReportMetric(ms(percentile(churnLat, 50)), "churn_list_p50_ms")
				b.ReportMetric(ms(percentile(churnLat, 99)), "churn_list_p99_ms")
				b.ReportMetric(float64(percentile(churnLat, 99))/float64(percentile(idleLat, 99)), "churn_x_idle_p99")
				w.kill()
			}
		})
	}
}

// BenchmarkRecovery measures the time from starting `venus-worker daemon` to every one of its 64
// threads running its persisted job again: the jobs are made by sealing 64 sectors up to
// WaitSeed (the manager holds the seeds), then the worker is SIGKILLed and started again; the
// clock stops when the last thread has asked for its seed again (recovery_ms). The baseline,
// fresh_ms, is the same start on 64 empty locations, up to the last thread asking for a sector.
// Run it with -benchtime 1x.
func BenchmarkRecovery(b *testing.B) {
	const threads = 64
	quiet(b)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		m := newBenchManager(b, 0)
		addr := serveManager(b, m)

		start := time.Now()
		w := startWorkerProc(b, dir, addr, threads, idle)
		waitUntil(b, time.Minute, "every thread asking for a sector", func() bool { return m.allocAsks.Load() >= threads })
		fresh := time.Since(start)
		w.kill()

		m.limit.Store(threads)
		m.holdSeeds.Store(true)
		w = startWorkerProc(b, dir, addr, threads, fast)
		waitUntil(b, 2*time.Minute, "every thread waiting for its seed", func() bool { n, _ := m.seededCount(); return n == threads })
		w.kill()

		m.resetSeeded()
		start = time.Now()
		startWorkerProc(b, dir, addr, threads, fast)
		var last time.Time
		waitUntil(b, time.Minute, "every thread back at its job", func() bool {
			var n int
			n, last = m.seededCount()
			return n == threads
		})
		recovery := last.Sub(start)
		if got := m.allocated.Load(); got != threads {
			b.Fatalf("%d sectors allocated, want %d: a thread started a new job instead of resuming", got, threads)
		}
		b.ReportMetric(ms(recovery), "recovery_ms")
		b.ReportMetric(ms(fresh), "fresh_ms")
		b.ReportMetric(float64(recovery)/float64(fresh), "x_fresh")
	}
}
