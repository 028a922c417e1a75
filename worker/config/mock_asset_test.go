package config

import (
	"github.com/ipfs-force-community/venus-cluster-go/api"

	"reflect"
	"testing"
	"time"
)

// The mock asset must run as is against `venus-sector-manager mock` from the repository root.
func TestMockAsset(t *testing.T) {
	cfg, err := Load("../../assets/venus-worker.mock.toml")
	if err != nil {
		t.Fatalf("Load mock asset: %v", err)
	}

	if got := cfg.SectorManager.Addr.URL(api.ManagerRPCPath); got != "http://127.0.0.1:1789/rpc/v0" {
		t.Errorf("manager endpoint = %q", got)
	}
	if got := cfg.AdminListenAddr(); got != "127.0.0.1:17890" {
		t.Errorf("AdminListenAddr = %q, want loopback", got)
	}
	if cfg.Worker.PingInterval != 5*time.Second { // short in the demo config so util worker list shows the worker soon
		t.Errorf("PingInterval = %s", cfg.Worker.PingInterval)
	}

	want := Sealing{
		MaxRetries:          3,
		SealInterval:        5 * time.Second,
		RecoverInterval:     10 * time.Second,
		RPCPollingInterval:  5 * time.Second,
		ReserveSpaceTimeout: time.Hour,
	}
	threads := cfg.Threads()
	if len(threads) != 3 {
		t.Fatalf("got %d threads, want 3", len(threads))
	}
	for i, th := range threads {
		loc := "./mock-tmp/store" + string(rune('1'+i))
		if th.Index != i || th.Location != loc || th.Plan != PlanSealer {
			t.Errorf("thread %d = %+v, want location %s and plan sealer", i, th, loc)
		}
		if !reflect.DeepEqual(th.Sealing, want) {
			t.Errorf("thread %d sealing = %+v, want %+v", i, th.Sealing, want)
		}
	}
	if cfg.Sealing.EnableDeals {
		t.Error("enable_deals is on; the mock hands out no deals")
	}

	wantStores := []AttachedStore{{Name: "persist-store1", Location: "./mock-tmp/remote"}}
	if got := cfg.AttachedStores(); !reflect.DeepEqual(got, wantStores) {
		t.Errorf("AttachedStores = %+v, want %+v", got, wantStores)
	}

	pr := cfg.Processors
	if want := map[string]uint{"pc1": 3, "pc2": 2, "c2": 1}; !reflect.DeepEqual(pr.Limitation.Concurrent, want) {
		t.Errorf("Concurrent = %v, want %v", pr.Limitation.Concurrent, want)
	}
	if len(pr.Limitation.Staggered) != 0 || len(pr.Ext) != 0 || len(pr.StaticTreeD) != 0 {
		t.Errorf("processors = %+v, want built-in processors only and no stagger", pr)
	}
	if len(cfg.UnknownKeys) != 0 {
		t.Errorf("UnknownKeys = %v, want none", cfg.UnknownKeys)
	}
}
