package server_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// /debug/metrics under tokens: a scrape needs a read token, and shows the calls served, the
// sectors by state, the workers and the pings.
func TestManagerMetrics(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify), server.WithMetrics(metrics.NewRegistry()))
	url := "http://" + addr + metrics.Path
	if status, body := getWith(t, url, ""); status != 401 || !strings.Contains(body, "the metrics needs a read token (Authorization: Bearer <token>)") {
		t.Errorf("scrape without a token: %d %q", status, body)
	}

	ctx := context.Background()
	w := tokenClient(t, addr, tk.write)
	if _, err := w.AllocateSector(ctx, api.AllocateSectorSpec{}); err != nil {
		t.Fatal(err)
	}
	if err := w.WorkerPing(ctx, api.WorkerInfo{Name: "w1", Dest: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tokenClient(t, addr, tk.read).AllocateSector(ctx, api.AllocateSectorSpec{}); !api.IsPermissionDenied(err) {
		t.Fatalf("a read token allocated: %v", err)
	}

	status, body := getWith(t, url, tk.read)
	if status != 200 {
		t.Fatalf("scrape with a read token: %d %q", status, body)
	}
	for _, want := range []string{
		`venus_sector_manager_rpc_duration_seconds_count{method="AllocateSector",result="ok"} 1`,
		`venus_sector_manager_rpc_duration_seconds_count{method="AllocateSector",result="error"} 1`,
		`venus_sector_manager_rpc_duration_seconds_count{method="WorkerPing",result="ok"} 1`,
		`venus_sector_manager_worker_pings_total 1`,
		`venus_sector_manager_sectors{state="Allocated"} 1`,
		`venus_sector_manager_workers{status="online"} 1`,
		`venus_sector_manager_workers{status="expired"} 0`,
		`venus_sector_manager_kvstore_commit_duration_seconds_count `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape without %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^# TYPE venus_sector_manager_rpc_duration_seconds histogram$`).MatchString(body) {
		t.Error("rpc latency is not a histogram")
	}
}

// Without tokens the metrics are open, like the api.
func TestManagerMetricsOpen(t *testing.T) {
	addr, _ := startServer(t, server.WithMetrics(metrics.NewRegistry()))
	if status, body := getWith(t, "http://"+addr+metrics.Path, ""); status != 200 || !strings.Contains(body, "venus_sector_manager_workers") {
		t.Errorf("open scrape: %d %.200q", status, body)
	}
}
