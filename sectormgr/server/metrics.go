package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

// registerManagerMetrics registers the manager's series on reg and returns the observer that
// times every RPC. Sectors and workers are read from impl at scrape time.
func registerManagerMetrics(reg *prometheus.Registry, impl api.ManagerAPI) api.CallObserver {
	calls := metrics.NewCallLatency(reg, "venus_sector_manager_rpc_duration_seconds", "Venus.* calls served, by method and result.")
	pings := prometheus.NewCounter(prometheus.CounterOpts{Name: "venus_sector_manager_worker_pings_total", Help: "WorkerPing calls received (rate() gives pings per second)."})
	reg.MustRegister(pings, metrics.NewKVStoreCommits("venus_sector_manager_kvstore_commit_duration_seconds"),
		metrics.NewGaugesFunc("venus_sector_manager_sectors", "Sectors being sealed, by the state their worker last reported (Allocated: none yet).", "state",
			func() (map[string]float64, error) { return sectorsByState(impl) }),
		metrics.NewGaugesFunc("venus_sector_manager_workers", "Workers that pinged, online or expired (no ping for 10 minutes).", "status",
			func() (map[string]float64, error) { return workersByStatus(impl, time.Now()) }))
	return func(method string, took time.Duration, err error) {
		calls.Observe(method, took, err)
		if method == "WorkerPing" && err == nil {
			pings.Inc()
		}
	}
}

func sectorsByState(impl api.ManagerAPI) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	list, err := impl.ListSectors(ctx, api.WorkerOnline, api.SectorWorkerJobAll)
	if err != nil {
		return nil, err
	}
	// Allocated (nothing reported yet) is always there, so that a sum over the states is 0, not
	// empty, on a manager with no sector being sealed.
	out := map[string]float64{"Allocated": 0}
	for _, s := range list {
		state := "Allocated"
		if s.LatestState != nil {
			state = s.LatestState.StateChange.Next
		}
		out[state]++
	}
	return out, nil
}

func workersByStatus(impl api.ManagerAPI, now time.Time) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	list, err := impl.WorkerPingInfoList(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{"online": 0, "expired": 0}
	for _, w := range list {
		if registry.Expired(w, now, registry.DefaultExpiration) {
			out["expired"]++
		} else {
			out["online"]++
		}
	}
	return out, nil
}
