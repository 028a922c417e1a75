// Package bench measures what this project owns around the proofs: the sealing pipeline's own
// overhead, the manager under many workers, the worker's footprint. Figures are ratios or counts
// (see BENCHMARKS.md), because these machines are shared and noisy.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/daemon"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// countingManager is the mock manager that allocates a fixed number of sectors, counts calls and
// signals when every allocated sector is finalized.
type countingManager struct {
	*mock.Mock
	limit     int64
	allocated atomic.Int64
	finalized atomic.Int64
	calls     atomic.Int64
	done      chan struct{}
	once      sync.Once
}

func (m *countingManager) AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	m.calls.Add(1)
	if m.allocated.Add(1) > m.limit {
		return nil, nil
	}
	return m.Mock.AllocateSector(ctx, spec)
}

func (m *countingManager) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	m.calls.Add(1)
	err := m.Mock.ReportFinalized(ctx, sid)
	if m.finalized.Add(1) == m.limit {
		m.once.Do(func() { close(m.done) })
	}
	return err
}

func (m *countingManager) ReportState(ctx context.Context, sid abi.SectorID, req api.ReportStateReq) error {
	m.calls.Add(1)
	return m.Mock.ReportState(ctx, sid, req)
}

// rig is a mock manager on loopback and a worker daemon with n sealing threads, in process.
func startRig(b *testing.B, threads int, sectors int64) (*countingManager, *daemon.Daemon, string) {
	b.Helper()
	logging.SetLevel(zapcore.ErrorLevel)
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		b.Fatal(err)
	}
	cm := &countingManager{Mock: m, limit: sectors, done: make(chan struct{})}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); server.Serve(ctx, ln, server.New(cm)) }()
	b.Cleanup(func() { cancel(); <-served })

	dir := b.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[worker]\nrpc_server.host = \"127.0.0.1\"\nrpc_server.port = 0\nping_interval = \"1h\"\n")
	fmt.Fprintf(&cfg, "[sector_manager]\nrpc_client.addr = \"http://%s\"\n", ln.Addr())
	fmt.Fprintf(&cfg, "[sealing]\nseal_interval = \"0s\"\nrecover_interval = \"10ms\"\nrpc_polling_interval = \"10ms\"\n")
	for i := 0; i < threads; i++ {
		loc := filepath.Join(dir, fmt.Sprintf("s%d", i))
		if err := store.SealingInit(loc); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&cfg, "[[sealing_thread]]\nlocation = %q\n", loc)
	}
	persist := filepath.Join(dir, "persist")
	os.MkdirAll(persist, 0o755)
	fmt.Fprintf(&cfg, "[[attached]]\nname = \"p\"\nlocation = %q\n", persist)
	c, err := config.Parse([]byte(cfg.String()))
	if err != nil {
		b.Fatal(err)
	}
	d, err := daemon.New(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	return cm, d, dir
}

// BenchmarkPipeline measures how many sectors per second the pipeline moves from Empty to
// Finished when every processor returns at once: what is left is the project's own overhead
// (manager round trips, fsync'd job records, reports, file persistence of 2KiB sectors).
func BenchmarkPipeline(b *testing.B) {
	for _, threads := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			sectors := int64(b.N)
			cm, d, _ := startRig(b, threads, sectors)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() { stopped <- d.Run(ctx) }()
			select {
			case <-cm.done:
			case <-time.After(10 * time.Minute):
				b.Fatalf("only %d of %d sectors finished", cm.finalized.Load(), sectors)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-stopped
			b.ReportMetric(float64(sectors)/elapsed.Seconds(), "sectors/s")
			b.ReportMetric(float64(elapsed.Milliseconds())*float64(threads)/float64(sectors), "ms/sector/thread")
			b.ReportMetric(float64(cm.calls.Load())/float64(sectors), "counted-rpcs/sector")
		})
	}
}
