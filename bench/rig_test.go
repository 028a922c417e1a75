package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap/zapcore"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// benchManager is the mock manager with the knobs the worker-side benchmarks need: it allocates
// at most limit sectors (then answers "no sector", as a manager with nothing to seal does),
// can hold every sector at WaitSeed, and counts what workers ask.
type benchManager struct {
	*mock.Mock
	limit     atomic.Int64
	allocated atomic.Int64
	allocAsks atomic.Int64 // AllocateSector calls, answered or not
	finalized atomic.Int64
	calls     atomic.Int64 // calls a sealing thread makes for a sector (not pings)
	holdSeeds atomic.Bool

	done chan struct{} // closed when limit sectors are finalized
	once sync.Once

	mu     sync.Mutex
	seeded map[abi.SectorID]time.Time // first WaitSeed of each sector since resetSeeded
}

func newBenchManager(tb testing.TB, limit int64) *benchManager {
	tb.Helper()
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		tb.Fatal(err)
	}
	bm := &benchManager{Mock: m, done: make(chan struct{}), seeded: map[abi.SectorID]time.Time{}}
	bm.limit.Store(limit)
	return bm
}

func (m *benchManager) AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	m.calls.Add(1)
	m.allocAsks.Add(1)
	if m.allocated.Add(1) > m.limit.Load() {
		m.allocated.Add(-1)
		return nil, nil
	}
	return m.Mock.AllocateSector(ctx, spec)
}

func (m *benchManager) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	m.calls.Add(1)
	err := m.Mock.ReportFinalized(ctx, sid)
	if m.finalized.Add(1) == m.limit.Load() {
		m.once.Do(func() { close(m.done) })
	}
	return err
}

func (m *benchManager) ReportState(ctx context.Context, sid abi.SectorID, req api.ReportStateReq) error {
	m.calls.Add(1)
	return m.Mock.ReportState(ctx, sid, req)
}

func (m *benchManager) WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	m.calls.Add(1)
	m.mu.Lock()
	if _, ok := m.seeded[sid]; !ok {
		m.seeded[sid] = time.Now()
	}
	m.mu.Unlock()
	if m.holdSeeds.Load() {
		return api.WaitSeedResp{ShouldWait: true, Delay: 3600}, nil
	}
	return m.Mock.WaitSeed(ctx, sid)
}

func (m *benchManager) resetSeeded() {
	m.mu.Lock()
	m.seeded = map[abi.SectorID]time.Time{}
	m.mu.Unlock()
}

// seededCount is how many distinct sectors asked for their seed since resetSeeded, and when the
// last of them first did.
func (m *benchManager) seededCount() (int, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last time.Time
	for _, t := range m.seeded {
		if t.After(last) {
			last = t
		}
	}
	return len(m.seeded), last
}

// The rest of the sealing calls are counted so counted-rpcs/sector covers every round trip.
func (m *benchManager) AcquireDeals(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec) (api.Deals, error) {
	m.calls.Add(1)
	return m.Mock.AcquireDeals(ctx, sid, spec)
}

func (m *benchManager) AssignTicket(ctx context.Context, sid abi.SectorID) (api.Ticket, error) {
	m.calls.Add(1)
	return m.Mock.AssignTicket(ctx, sid)
}

func (m *benchManager) SubmitPreCommit(ctx context.Context, s api.AllocatedSector, info api.PreCommitOnChainInfo, reset bool) (api.SubmitPreCommitResp, error) {
	m.calls.Add(1)
	return m.Mock.SubmitPreCommit(ctx, s, info, reset)
}

func (m *benchManager) PollPreCommitState(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	m.calls.Add(1)
	return m.Mock.PollPreCommitState(ctx, sid)
}

func (m *benchManager) SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	m.calls.Add(1)
	return m.Mock.SubmitPersisted(ctx, sid, instance)
}

func (m *benchManager) StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error) {
	m.calls.Add(1)
	return m.Mock.StoreReserveSpace(ctx, sid, size, candidates)
}

func (m *benchManager) SubmitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, reset bool) (api.SubmitProofResp, error) {
	m.calls.Add(1)
	return m.Mock.SubmitProof(ctx, sid, info, reset)
}

func (m *benchManager) PollProofState(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	m.calls.Add(1)
	return m.Mock.PollProofState(ctx, sid)
}

// serveManager serves m on a loopback port until the benchmark ends and returns its address.
func serveManager(tb testing.TB, m api.ManagerAPI, opts ...server.Option) string {
	tb.Helper()
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); server.Serve(ctx, ln, server.New(m, opts...)) }()
	tb.Cleanup(func() { cancel(); <-served })
	return ln.Addr().String()
}

// quiet keeps per-call log lines out of the benchmarks' output and timing.
func quiet(tb testing.TB) {
	logging.SetLevel(zapcore.ErrorLevel)
	tb.Cleanup(func() { logging.SetLevel(zapcore.InfoLevel) })
}

// pace holds the [sealing] options of the benchmarks' workers.
type pace struct {
	recover, polling string
}

// fast is for workers that seal back to back; idle is for workers that must stay idle when the
// manager has nothing for them (a thread asks again after recover_interval).
var (
	fast = pace{recover: "10ms", polling: "10ms"}
	idle = pace{recover: "60s", polling: "60s"}
)

// workerConfig makes threads sealing locations and one persist store under dir and returns the
// TOML of a worker that uses them against the manager at addr.
func workerConfig(tb testing.TB, dir, addr string, threads int, s pace) string {
	return workerConfigOn(tb, dir, addr, threads, s, 0)
}

// workerConfigOn is workerConfig with the admin API on port (0: any free port).
func workerConfigOn(tb testing.TB, dir, addr string, threads int, s pace, port int) string {
	tb.Helper()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[worker]\nname = \"bench\"\nrpc_server.host = \"127.0.0.1\"\nrpc_server.port = %d\nping_interval = \"1h\"\n", port)
	fmt.Fprintf(&cfg, "[sector_manager]\nrpc_client.addr = \"http://%s\"\n", addr)
	fmt.Fprintf(&cfg, "[sealing]\nseal_interval = \"0s\"\nrecover_interval = %q\nrpc_polling_interval = %q\n", s.recover, s.polling)
	for i := 0; i < threads; i++ {
		loc := filepath.Join(dir, fmt.Sprintf("s%d", i))
		if _, err := os.Stat(loc); os.IsNotExist(err) {
			if err := store.SealingInit(loc); err != nil {
				tb.Fatal(err)
			}
		}
		fmt.Fprintf(&cfg, "[[sealing_thread]]\nlocation = %q\n", loc)
	}
	persist := filepath.Join(dir, "persist")
	if err := os.MkdirAll(persist, 0o755); err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(&cfg, "[[attached]]\nname = \"p\"\nlocation = %q\n", persist)
	return cfg.String()
}

// fsyncLatency is the mean time of a 4KiB overwrite plus fdatasync of a file in dir: the unit a
// durable state change costs on this disk, measured in the same run as what it explains.
func fsyncLatency(tb testing.TB, dir string, n int) time.Duration {
	tb.Helper()
	f, err := os.CreateTemp(dir, "fsync-baseline-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	if _, err := f.Write(make([]byte, 64<<10)); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		page[0] = byte(i)
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			tb.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Binaries for the benchmarks that run real daemons are built once per run, on first use.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func bin(tb testing.TB, name string) string {
	tb.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "vc-bench-bin-")
		if binErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/venus-worker", "./cmd/venus-sector-manager")
		build.Dir = ".."
		out, err := build.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build binaries: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// waitUntil polls cond every 5ms until it holds or timeout passes.
func waitUntil(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// vmRSS is the resident memory of a process ("self" or a pid) in bytes, from /proc/<pid>/status.
func vmRSS(tb testing.TB, pid string) int64 {
	tb.Helper()
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				tb.Fatalf("parse %q: %v", line, err)
			}
			return kib << 10
		}
	}
	tb.Fatalf("no VmRSS in /proc/%s/status", pid)
	return 0
}
