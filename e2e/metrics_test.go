package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// scrapeMetrics GETs /debug/metrics at addr with token ("" sends none) and returns the status
// and the body.
func scrapeMetrics(t *testing.T, addr, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/debug/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// seriesNames are the metric names a scrape exposes, histograms' _bucket, _sum and _count
// included.
func seriesNames(body string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		names[name] = true
	}
	return names
}

// grafanaSeries are the venus_* names the shipped dashboard's queries read.
func grafanaSeries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "assets", "grafana", "venus-cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("assets/grafana/venus-cluster.json: %v", err)
	}
	name := regexp.MustCompile(`\bvenus_[a-z_]+`)
	var out []string
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Both live daemons, under tokens, serve the series of the Grafana dashboard shipped in
// assets/grafana: a worker that sealed a sector and a manager that handed it out. A scrape needs
// a read token on both.
func TestMetricsOfLiveDaemonsCoverTheGrafanaDashboard(t *testing.T) {
	m := startAuthManager(t, "--seed-delay", "1s")
	w := newWorkerSetup(t, m.addr, 1)
	setToken(t, w, m.createToken(t, "write"))
	appendConfig(t, w, `
[processors.limitation.concurrent]
pc1 = 1

[processors.limitation.staggered]
pc2 = "1s"

[processors.ext_locks]
gpu = 1
`)
	startWorker(t, w)
	waitFor(t, "a sealed sector", 90*time.Second, func() bool {
		r := m.util(t, "sealer", "sectors", "list", "--json", "--offline")
		return r.code == 0 && strings.Contains(r.stdout, `"finalized": true`)
	})
	read := m.createToken(t, "read")

	for name, addr := range map[string]string{"manager": m.addr, "worker": w.adminAddr} {
		if status, body := scrapeMetrics(t, addr, ""); status != http.StatusUnauthorized || !strings.Contains(body, "the metrics needs a read token") {
			t.Errorf("%s scraped without a token: %d %q", name, status, body)
		}
	}
	status, managerBody := scrapeMetrics(t, m.addr, read)
	if status != http.StatusOK {
		t.Fatalf("manager scrape: %d %q", status, managerBody)
	}
	var workerBody string
	// The worker's stage and state series of the sealed sector are there from its last step on.
	waitFor(t, "the worker's persist in its metrics", 20*time.Second, func() bool {
		status, workerBody = scrapeMetrics(t, w.adminAddr, read)
		return status == http.StatusOK && atLeastOne(workerBody, `venus_worker_stage_duration_seconds_count{result="ok",stage="c2"}`)
	})

	exposed := seriesNames(managerBody)
	for n := range seriesNames(workerBody) {
		exposed[n] = true
	}
	queried := grafanaSeries(t)
	if len(queried) < 20 {
		t.Fatalf("the dashboard queries only %d series: %v", len(queried), queried)
	}
	for _, n := range queried {
		if !exposed[n] {
			t.Errorf("the Grafana dashboard queries %s, which neither live daemon serves", n)
		}
	}

	for _, want := range []string{
		`venus_worker_threads_paused 0`,
		`venus_worker_drained 0`,
		`venus_worker_limitation_wait_seconds_count{limitation="ext_locks",name="gpu"} 0`,
		`venus_worker_failures_total{level="Permanent"} 0`,
		`venus_worker_ext_processor_restarts_total{stage="pc2"} 0`,
	} {
		if !strings.Contains(workerBody, want) {
			t.Errorf("worker scrape without %q", want)
		}
	}
	for _, series := range []string{
		`venus_worker_threads{plan="sealer",state="[A-Za-z0-9]+"}`,
		`venus_worker_stage_duration_seconds_count{result="ok",stage="pc1"}`,
		`venus_worker_stage_duration_seconds_count{result="ok",stage="tree_d"}`,
		`venus_worker_stage_duration_seconds_count{result="ok",stage="add_piece"}`,
		`venus_worker_stage_duration_seconds_count{result="ok",stage="transfer"}`,
		`venus_worker_state_duration_seconds_count{plan="sealer",state="PC2Done"}`,
		`venus_worker_limitation_wait_seconds_count{limitation="concurrent",name="pc1"}`,
		`venus_worker_limitation_wait_seconds_count{limitation="staggered",name="pc2"}`,
		`venus_worker_manager_call_duration_seconds_count{method="AllocateSector",result="ok"}`,
		`venus_worker_thread_state_entered_timestamp_seconds{state="[A-Za-z0-9]+",thread="0"}`,
		`venus_worker_persisted_bytes_total`,
		`venus_worker_kvstore_commit_duration_seconds_count`,
	} {
		if !atLeastOne(workerBody, series) {
			t.Errorf("worker scrape: %s is not at least 1", series)
		}
	}
	for _, series := range []string{
		`venus_sector_manager_rpc_duration_seconds_count{method="AllocateSector",result="ok"}`,
		`venus_sector_manager_workers{status="online"}`,
		`venus_sector_manager_worker_pings_total`,
	} {
		if !atLeastOne(managerBody, series) {
			t.Errorf("manager scrape: %s is not at least 1", series)
		}
	}
	if !strings.Contains(managerBody, "venus_sector_manager_kvstore_commit_duration_seconds_count ") {
		t.Error("manager scrape without its kvstore commits")
	}
}

// atLeastOne tells whether body has a sample of series (a regexp of its name and labels, in
// the order Prometheus writes them) of 1 or more.
func atLeastOne(body, series string) bool {
	quoted := regexp.QuoteMeta(series)
	// The label values given as patterns stay patterns.
	quoted = strings.ReplaceAll(quoted, regexp.QuoteMeta(`[A-Za-z0-9]+`), `[A-Za-z0-9]+`)
	return regexp.MustCompile(`(?m)^` + quoted + ` ([1-9][0-9.e+]*)$`).MatchString(body)
}

// appendConfig adds text to the worker's config file.
func appendConfig(t *testing.T, w *workerSetup, text string) {
	t.Helper()
	f, err := os.OpenFile(w.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
