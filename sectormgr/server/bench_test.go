package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"go.uber.org/zap/zapcore"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// noop is the baseline: a go-jsonrpc method that decodes the same parameter as WorkerPing and
// does nothing, served by the same HTTP server.
type noop struct{}

func (noop) Noop(context.Context, api.WorkerInfo) error { return nil }

type noopClient struct {
	Noop func(context.Context, api.WorkerInfo) error
}

const (
	benchWorkers = 1000
	benchClients = 8 // concurrent callers, as many workers pinging at once
)

// benchHTTPClient keeps a connection per caller alive, so the benchmark measures the manager,
// not TCP handshakes.
var benchHTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients * 2}, Timeout: time.Minute}

func workerInfo(i int) api.WorkerInfo {
	return api.WorkerInfo{
		Name:    fmt.Sprintf("worker-%04d", i%benchWorkers),
		Dest:    fmt.Sprintf("10.0.%d.%d:17890", i%benchWorkers/250, i%250),
		Version: "v0.5.0",
		Summary: api.WorkerInfoSummary{Threads: 8, Empty: 2, Paused: 1, Running: 4, Waiting: 1},
	}
}

// parallelCalls runs n calls of call over benchClients goroutines and returns the elapsed time.
func parallelCalls(b *testing.B, n int, call func(i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < benchClients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				if err := call(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkWorkerPing measures Venus.WorkerPing over HTTP from 1,000 distinct workers against a
// no-op method on the same server, in the same run; ping/noop is the share of the RPC baseline
// the registry keeps (1 means free).
func BenchmarkWorkerPing(b *testing.B) {
	quietLogs(b)
	b.Run("memory", func(b *testing.B) { benchWorkerPing(b, statedb.InMemory()) })
	b.Run("home", func(b *testing.B) {
		db, err := statedb.OpenHome(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchWorkerPing(b, db)
	})
}

func benchWorkerPing(b *testing.B, db statedb.DB) {
	m, err := mock.New(10000, 2<<10, mock.WithDB(db))
	if err != nil {
		b.Fatal(err)
	}
	baseline := jsonrpc.NewServer()
	baseline.Register(api.ManagerNamespace, noop{})
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.New(m, server.WithHandler("/bench/noop", baseline))) }()
	defer func() { cancel(); <-done }()

	addr := "http://" + ln.Addr().String()
	var mc api.ManagerClient
	closeMC, err := jsonrpc.NewMergeClient(ctx, addr+api.ManagerRPCPath, api.ManagerNamespace, []any{&mc}, nil, jsonrpc.WithHTTPClient(benchHTTPClient))
	if err != nil {
		b.Fatal(err)
	}
	defer closeMC()
	var nc noopClient
	closeNC, err := jsonrpc.NewMergeClient(ctx, addr+"/bench/noop", api.ManagerNamespace, []any{&nc}, nil, jsonrpc.WithHTTPClient(benchHTTPClient))
	if err != nil {
		b.Fatal(err)
	}
	defer closeNC()

	// Every worker is registered before the clock starts, and both paths are warm.
	parallelCalls(b, benchWorkers, func(i int) error { return mc.WorkerPing(ctx, workerInfo(i)) })
	parallelCalls(b, benchWorkers, func(i int) error { return nc.Noop(ctx, workerInfo(i)) })
	if list, err := mc.WorkerPingInfoList(ctx); err != nil || len(list) != benchWorkers {
		b.Fatalf("registry holds %d workers, %v", len(list), err)
	}

	// Pings and no-ops alternate in chunks, so a change of load on a shared machine hits both
	// sides of the ratio alike.
	const chunk = 250
	var pings, noops time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		b.StartTimer()
		pings += parallelCalls(b, n, func(i int) error { return mc.WorkerPing(ctx, workerInfo(done+i)) })
		b.StopTimer()
		noops += parallelCalls(b, n, func(i int) error { return nc.Noop(ctx, workerInfo(done+i)) })
	}

	pingRate := float64(b.N) / pings.Seconds()
	noopRate := float64(b.N) / noops.Seconds()
	b.ReportMetric(pingRate, "pings/s")
	b.ReportMetric(noopRate, "noops/s")
	b.ReportMetric(pingRate/noopRate, "ping/noop")
}

// quietLogs keeps per-call log lines out of the benchmark's output and timing.
func quietLogs(b *testing.B) {
	logging.SetLevel(zapcore.ErrorLevel)
	b.Cleanup(func() { logging.SetLevel(zapcore.InfoLevel) })
}
