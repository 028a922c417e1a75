package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	managerWorkers = 1000
	managerSectors = 10000
	// Every sector has reported this many state changes (each one a history entry).
	managerReports = 3
)

// noop is the baseline: a go-jsonrpc method that decodes the same parameter as WorkerPing and
// does nothing, served by the same HTTP server as the manager.
type noop struct{}

func (noop) Noop(context.Context, api.WorkerInfo) error { return nil }

type noopClient struct {
	Noop func(context.Context, api.WorkerInfo) error
}

func simulatedWorker(i int) api.WorkerInfo {
	return api.WorkerInfo{
		Name:    fmt.Sprintf("worker-%04d", i),
		Dest:    fmt.Sprintf("10.0.%d.%d:17890", i/250, i%250),
		Version: "v0.5.0",
		Summary: api.WorkerInfoSummary{Threads: 64, Empty: 2, Paused: 1, Running: 58, Waiting: 3},
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkManager is the manager (the mock, with its state durable under a home as `mock
// --home` keeps it) holding 1,000 workers and 10,000 sectors that have each reported 3 state
// changes:
//
//   - ping/noop: WorkerPing throughput against a no-op method with the same parameter on the same
//     server. Each round, all 1,000 simulated workers send one call at once (as 1,000 workers
//     pinging every second do, all within the second), each on its own connection; ping rounds
//     and no-op rounds alternate, so a change of load on the machine hits both alike. Every ping is
//     durable before it is answered.
//   - worker_list_ms, sectors_list_ms: wall time of `venus-sector-manager util worker list` and
//     `util sealer sectors list` (the real binary), against x_state: `util sealer sectors state`
//     of one sector, a one-call command, timed in the same run.
//   - heap_MiB: live heap the manager holds for it all (after GC); db_MiB: the size of its
//     kvstore file, which it maps (resident only as far as it is read), and per sector.
func BenchmarkManager(b *testing.B) {
	quiet(b)
	heap0 := heapInUse()
	home := b.TempDir()
	db, err := statedb.OpenHome(home)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	m, err := mock.New(10000, 2<<10, mock.WithDB(db))
	if err != nil {
		b.Fatal(err)
	}
	baseline := jsonrpc.NewServer()
	baseline.Register(api.ManagerNamespace, noop{})
	addr := serveManager(b, m, server.WithHandler("/bench/noop", baseline))

	ctx := context.Background()
	start := time.Now()
	populate(b, m)
	b.Logf("populated in %v", time.Since(start))
	heap := heapInUse() - heap0
	dbInfo, err := os.Stat(filepath.Join(home, statedb.MetaDir, kvstore.FileName))
	if err != nil {
		b.Fatal(err)
	}

	// One connection per simulated worker.
	transport := &http.Transport{MaxIdleConns: managerWorkers, MaxIdleConnsPerHost: managerWorkers}
	b.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	var mc api.ManagerClient
	closeMC, err := jsonrpc.NewMergeClient(ctx, "http://"+addr+api.ManagerRPCPath, api.ManagerNamespace, []any{&mc}, nil, jsonrpc.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	defer closeMC()
	var nc noopClient
	closeNC, err := jsonrpc.NewMergeClient(ctx, "http://"+addr+"/bench/noop", api.ManagerNamespace, []any{&nc}, nil, jsonrpc.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	defer closeNC()

	round := func(call func(i int) error) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < managerWorkers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := call(i); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	ping := func(i int) error { return mc.WorkerPing(ctx, simulatedWorker(i)) }
	nop := func(i int) error { return nc.Noop(ctx, simulatedWorker(i)) }
	// Warm both paths (connections, registry entries) before the clock starts.
	round(ping)
	round(nop)
	if list, err := mc.WorkerPingInfoList(ctx); err != nil || len(list) != managerWorkers {
		b.Fatalf("registry holds %d workers, %v", len(list), err)
	}

	var pings, noops time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StartTimer()
		pings += round(ping)
		b.StopTimer()
		noops += round(nop)
	}
	calls := float64(b.N * managerWorkers)
	pingRate, noopRate := calls/pings.Seconds(), calls/noops.Seconds()

	util := func(args ...string) (time.Duration, string) {
		argv := append([]string{"util", "--listen", addr}, args...)
		const runs = 5
		var best time.Duration
		var out []byte
		for r := 0; r < runs; r++ {
			cmd := exec.Command(bin(b, "venus-sector-manager"), argv...)
			start := time.Now()
			o, err := cmd.Output()
			d := time.Since(start)
			if err != nil {
				b.Fatalf("%s: %v", strings.Join(argv, " "), err)
			}
			if r == 0 || d < best {
				best = d
			}
			out = o
		}
		return best, string(out)
	}
	one, _ := util("sealer", "sectors", "state", "10000", "1")
	workers, wout := util("worker", "list")
	sectors, sout := util("sealer", "sectors", "list")
	if n := strings.Count(wout, "\n"); n != managerWorkers+1 {
		b.Fatalf("worker list printed %d lines, want %d", n, managerWorkers+1)
	}
	if n := strings.Count(sout, "\n"); n < managerSectors {
		b.Fatalf("sectors list printed %d lines, want at least %d", n, managerSectors)
	}

	b.ReportMetric(pingRate, "pings/s")
	b.ReportMetric(noopRate, "noops/s")
	b.ReportMetric(pingRate/noopRate, "ping/noop")
	b.ReportMetric(ms(one), "state_ms")
	b.ReportMetric(ms(workers), "worker_list_ms")
	b.ReportMetric(float64(workers)/float64(one), "worker_list_x_state")
	b.ReportMetric(ms(sectors), "sectors_list_ms")
	b.ReportMetric(float64(sectors)/float64(one), "sectors_list_x_state")
	b.ReportMetric(float64(heap)/(1<<20), "heap_MiB")
	b.ReportMetric(float64(dbInfo.Size())/(1<<20), "db_MiB")
	b.ReportMetric(float64(dbInfo.Size())/managerSectors, "db_B/sector")
}

// populate allocates managerSectors sectors, has each report managerReports state changes, and
// registers managerWorkers workers, from 500 callers at once (so the durable store's group commit
// batches them, as it does for a cluster).
func populate(b *testing.B, m *mock.Mock) {
	ctx := context.Background()
	const callers = 500
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < managerSectors; i += callers {
				s, err := m.AllocateSector(ctx, api.AllocateSectorSpec{})
				if err != nil || s == nil {
					b.Errorf("allocate: %v, %v", s, err)
					return
				}
				w := simulatedWorker(i % managerWorkers)
				for r := 0; r < managerReports; r++ {
					req := api.ReportStateReq{
						Worker:      api.WorkerIdentifier{Instance: w.Name, Location: fmt.Sprintf("/sealing/s%d", i%64)},
						StateChange: api.SectorStateChange{Prev: fmt.Sprint(r), Next: fmt.Sprint(r + 1), Event: "Bench"},
					}
					if err := m.ReportState(ctx, s.ID, req); err != nil {
						b.Errorf("report: %v", err)
						return
					}
				}
			}
			for i := c; i < managerWorkers; i += callers {
				if err := m.WorkerPing(ctx, simulatedWorker(i)); err != nil {
					b.Errorf("ping: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	if _, online, found := m.Sector(abi.SectorID{Miner: 10000, Number: managerSectors}); !found || !online {
		b.Fatalf("sector %d not online after populating", managerSectors)
	}
}
