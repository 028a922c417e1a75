package telemetry_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/worker/telemetry"
)

func scrape(t *testing.T, rec func(*telemetry.Recorder), src telemetry.Sources) string {
	t.Helper()
	reg := metrics.NewRegistry()
	r := telemetry.New(reg, src)
	rec(r)
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Every series of the worker, as Prometheus reads it: what the threads hold at scrape time, and
// what they did since the start.
func TestWorkerSeries(t *testing.T) {
	entered := time.Unix(1764946800, 500e6)
	src := telemetry.Sources{
		Threads: func() []telemetry.Thread {
			return []telemetry.Thread{
				{Index: 0, Plan: "sealer", State: "PC1Done", EnteredAt: entered},
				{Index: 1, Plan: "sealer", State: "PC1Done", Paused: true},
				{Index: 2, Plan: "snapup", State: "Persisted", Step: "transfer", Done: 1024, Total: 4096, Counted: true},
				{Index: 3, Plan: "sealer", State: "Allocated", Step: "tree_d", Total: 2048},
			}
		},
		Drained: func() bool { return true },
	}
	body := scrape(t, func(r *telemetry.Recorder) {
		r.Zero(telemetry.Known{Plans: []string{"sealer"}, Levels: []string{"Temporary", "Abort"}, Stages: []string{"pc2"},
			ExtStages: []string{"pc1"}, Limitations: map[string][]string{"ext_locks": {"gpu"}}})
		r.StateLeft("sealer", "PC1Done", 90*time.Second)
		r.StageDone("pc1", 2*time.Hour, false)
		r.StageDone("c2", time.Minute, true)
		r.Retried("sealer", "PC2Done")
		r.Failed("Temporary")
		r.Restarted("pc2")
		r.Waited("concurrent", "pc1", 3*time.Second)
		r.Persisted(8<<20, 2*time.Second)
		r.ManagerCall("AllocateSector", 20*time.Millisecond, nil)
	}, src)
	for _, want := range []string{
		`venus_worker_threads{plan="sealer",state="PC1Done"} 2`,
		`venus_worker_threads{plan="sealer",state="Allocated"} 1`,
		`venus_worker_threads{plan="snapup",state="Persisted"} 1`,
		`venus_worker_threads_paused 1`,
		`venus_worker_drained 1`,
		`venus_worker_thread_state_entered_timestamp_seconds{state="PC1Done",thread="0"} 1.7649468005e+09`,
		`venus_worker_step_bytes_done{step="transfer",thread="2"} 1024`,
		`venus_worker_step_bytes_total{step="transfer",thread="2"} 4096`,
		`venus_worker_step_bytes_total{step="tree_d",thread="3"} 2048`,
		`venus_worker_step_bytes_done{step="",thread="0"} 0`,
		`venus_worker_step_bytes_total{step="",thread="0"} 0`,
		`venus_worker_state_duration_seconds_count{plan="sealer",state="PC1Done"} 1`,
		`venus_worker_state_duration_seconds_sum{plan="sealer",state="PC1Done"} 90`,
		`venus_worker_stage_duration_seconds_bucket{result="ok",stage="pc1",le="3600"} 0`,
		`venus_worker_stage_duration_seconds_bucket{result="ok",stage="pc1",le="7200"} 1`,
		`venus_worker_stage_duration_seconds_count{result="error",stage="c2"} 1`,
		`venus_worker_stage_duration_seconds_count{result="ok",stage="pc2"} 0`,
		`venus_worker_retries_total{plan="sealer"} 1`,
		`venus_worker_failures_total{level="Temporary"} 1`,
		`venus_worker_failures_total{level="Abort"} 0`,
		`venus_worker_ext_processor_restarts_total{stage="pc1"} 0`,
		`venus_worker_ext_processor_restarts_total{stage="pc2"} 1`,
		`venus_worker_limitation_wait_seconds_count{limitation="ext_locks",name="gpu"} 0`,
		`venus_worker_limitation_wait_seconds_sum{limitation="concurrent",name="pc1"} 3`,
		`venus_worker_persisted_bytes_total 8.388608e+06`,
		`venus_worker_persist_duration_seconds_count 1`,
		`venus_worker_persist_throughput_bytes_per_second 4.194304e+06`,
		`venus_worker_manager_call_duration_seconds_count{method="AllocateSector",result="ok"} 1`,
		`venus_worker_kvstore_commit_duration_seconds_count `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape without %q", want)
		}
	}
	// No bytes done for a step that does not count them (an external processor), and no
	// entered-at for a thread that does not know it.
	for _, not := range []string{`venus_worker_step_bytes_done{step="tree_d"`, `venus_worker_thread_state_entered_timestamp_seconds{state="PC1Done",thread="1"}`} {
		if strings.Contains(body, not) {
			t.Errorf("scrape has %q", not)
		}
	}
}
