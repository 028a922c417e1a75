// Command mkreport writes BENCHMARKS.md from the raw output of `make bench` (go test -bench
// lines, benchstat-compatible): every figure with its baseline from the same run, the targets of
// issue 7 met or not, and the machine and command that reproduce it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Results maps a benchmark name (without the -GOMAXPROCS suffix) to its figures by unit.
type Results map[string]map[string]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads go test -bench output; lines that are not benchmark results are skipped. A name
// seen twice keeps its last figures.
func Parse(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q of %s is not a number", name, f[i], f[i+1])
			}
			m[f[i+1]] = v
		}
		res[name] = m
	}
	return res, sc.Err()
}

// Get returns a figure, or NaN when the run did not produce it.
func (r Results) Get(name, unit string) float64 {
	if m, ok := r[name]; ok {
		if v, ok := m[unit]; ok {
			return v
		}
	}
	return math.NaN()
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func pct(part, whole float64) string {
	if math.IsNaN(part) || math.IsNaN(whole) || whole == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*part/whole)
}

// verdict is "met", "NOT met" or "not measured" for value against a bound.
func verdict(v float64, ok func(float64) bool) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	if ok(v) {
		return "met"
	}
	return "**NOT met**"
}

type target struct {
	what, want string
	value      float64
	unit       string
	ok         func(float64) bool
}

// Report renders BENCHMARKS.md.
func Report(w io.Writer, r Results, machine map[string]string, notes string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	g := r.Get
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`scripts/bench.sh`); raw output, benchstat-compatible, in `bench/results.txt`.\n")
	p("Every figure stands next to a baseline measured in the same run, or is a count: these machines are shared and noisy,\n")
	p("so compare ratios between runs, not milliseconds.\n\n")
	p("| machine | |\n|---|---|\n")
	for _, k := range []string{"nproc", "cpu", "go", "commit", "elapsed"} {
		p("| %s | %s |\n", k, machine[k])
	}
	p("\nReproduce: `make bench` (or `bash scripts/bench.sh`; `PIPELINE_SECTORS=300`, `SKIP_DATAPATH=1` to leave out the data path).\n\n")

	s1, s8, s64 := g("BenchmarkPipeline/threads=1", "sectors/s"), g("BenchmarkPipeline/threads=8", "sectors/s"), g("BenchmarkPipeline/threads=64", "sectors/s")
	b1, b64 := "BenchmarkPipelineBreakdown/threads=1", "BenchmarkPipelineBreakdown/threads=64"
	targets := []target{
		{"pipeline overhead per sector, 1 thread", "< 50 ms", g(b1, "pipeline_ms"), "ms", func(v float64) bool { return v < 50 }},
		{"64 threads over 1 thread (sectors/s)", ">= 10x", s64 / s1, "x", func(v float64) bool { return v >= 10 }},
		{"WorkerPing over no-op throughput, 1,000 workers", ">= 0.8", g("BenchmarkManager", "ping/noop"), "", func(v float64) bool { return v >= 0.8 }},
		{"`util worker list`, 1,000 workers", "< 100 ms", g("BenchmarkManager", "worker_list_ms"), "ms", func(v float64) bool { return v < 100 }},
		{"`util sealer sectors list`, 10,000 sectors", "< 1 s", g("BenchmarkManager", "sectors_list_ms"), "ms", func(v float64) bool { return v < 1000 }},
		{"worker RSS, 64 idle threads", "< 64 MiB", g("BenchmarkWorkerFootprint/threads=64", "rss_MiB"), "MiB", func(v float64) bool { return v < 64 }},
		{"WorkerList p99, 256 threads each holding a sector", "< 5 ms", g("BenchmarkWorkerFootprint/threads=256", "list_p99_ms"), "ms", func(v float64) bool { return v < 5 }},
		{"WorkerList p99, 256 threads sealing back to back", "< 5 ms", g("BenchmarkWorkerFootprint/threads=256", "churn_list_p99_ms"), "ms", func(v float64) bool { return v < 5 }},
		{"AddPiece+CommP over go-fil-commp-hashhash", ">= 1.5x", g("BenchmarkAddPieceCommP", "x_hashhash"), "x", func(v float64) bool { return v >= 1.5 }},
	}
	p("## Targets\n\n| target | wanted | this run | |\n|---|---|---|---|\n")
	for _, t := range targets {
		p("| %s | %s | %s %s | %s |\n", t.what, t.want, num(t.value), t.unit, verdict(t.value, t.ok))
	}

	p("\n## 1. Pipeline overhead\n\n")
	p("One worker (in process) against the mock manager over loopback, 2KiB sectors, the default build's processors\n")
	p("(real tree_d, mock PC1/PC2/C1/C2, no sleeps), every state change fsync'd before it is reported.\n")
	p("Baselines: one sealing thread, and one 4KiB overwrite+fdatasync on the same disk (`fsync`).\n\n")
	p("| threads | sectors/s | x 1 thread | ms per sector per thread | in fsyncs | manager calls per sector | CPU ms per sector |\n|---|---|---|---|---|---|---|\n")
	for _, n := range []int{1, 8, 64} {
		name := fmt.Sprintf("BenchmarkPipeline/threads=%d", n)
		p("| %d | %s | %s | %s | %s | %s | %s |\n", n, num(g(name, "sectors/s")), num(g(name, "sectors/s")/s1), num(g(name, "ms/sector/thread")),
			num(g(name, "x_fsync")), num(g(name, "counted-rpcs/sector")), num(g(name, "cpu_ms/sector")))
	}
	p("\nfsync on this disk in this run: %s ms. 8 threads: %sx one thread.\n", num(g("BenchmarkPipeline/threads=1", "fsync_ms")), num(s8/s1))
	if cores, err := strconv.ParseFloat(machine["nproc"], 64); err == nil {
		cpu := g("BenchmarkPipeline/threads=64", "cpu_ms/sector")
		p("CPU per sector at 64 threads (worker and manager, one process): %s ms, so %s cores seal at most %s sectors/s here,\n", num(cpu), machine["nproc"], num(cores*1000/cpu))
		p("%sx one thread: the ceiling of the scaling figure on this machine.\n", num(cores*1000/cpu/s1))
	}
	p("\n")
	p("Where a sector's time goes (`BenchmarkPipelineBreakdown`: the same pipeline with every manager call and processor\n")
	p("timed, the kvstore's commits and the store's fsyncs counted), in ms of thread time per sector and share of it:\n\n")
	p("| | 1 thread | share | 64 threads | share | count per sector (1 thread) |\n|---|---|---|---|---|---|\n")
	rows := []struct{ label, unit, count string }{
		{"job record commits (bbolt, 2 fdatasyncs each)", "commit_ms", "commits/sector"},
		{"state reports (ReportState round trips, sent beside the thread's path: not in the totals)", "report_ms", "reports/sector"},
		{"other manager calls", "call_ms", "calls/sector"},
		{"persisting files (transfer: copy + fsync)", "transfer_ms", "file_fsyncs/sector"},
		{"rest of the pipeline (wipes, mkdirs, JSON, logging)", "other_ms", ""},
		{"**pipeline total**", "pipeline_ms", ""},
		{"stand-in processors (tree_d, mock PC1/PC2/C1/C2)", "standin_ms", ""},
		{"**sector total**", "total_ms", ""},
	}
	for _, row := range rows {
		count := ""
		if row.count != "" {
			count = num(g(b1, row.count))
		}
		p("| %s | %s | %s | %s | %s | %s |\n", row.label, num(g(b1, row.unit)), pct(g(b1, row.unit), g(b1, "total_ms")),
			num(g(b64, row.unit)), pct(g(b64, row.unit), g(b64, "total_ms")), count)
	}
	p("\n`file_fsyncs/sector` counts every fsync of `worker/store` (the transfer's and the mock PC2's cache files).\n")

	m := "BenchmarkManager"
	p("\n## 2. Manager under 1,000 workers and 10,000 sectors\n\n")
	p("The mock manager with a durable home (`mock --home`), holding 1,000 workers and 10,000 sectors with 3 reported\n")
	p("state changes each. Each round, the 1,000 simulated workers call at once, each on its own connection.\n\n")
	p("| figure | value | baseline | ratio |\n|---|---|---|---|\n")
	p("| WorkerPing throughput (durable) | %s calls/s | no-op method, same parameter, same server: %s calls/s | %s |\n", num(g(m, "pings/s")), num(g(m, "noops/s")), num(g(m, "ping/noop")))
	p("| `util worker list` (1,001 lines) | %s ms | `util sealer sectors state` of one sector: %s ms | %sx |\n", num(g(m, "worker_list_ms")), num(g(m, "state_ms")), num(g(m, "worker_list_x_state")))
	p("| `util sealer sectors list` (10,000 rows) | %s ms | same | %sx |\n", num(g(m, "sectors_list_ms")), num(g(m, "sectors_list_x_state")))
	p("| live heap for it all | %s MiB | | |\n", num(g(m, "heap_MiB")))
	p("| kvstore file (mapped) | %s MiB | | %s bytes per sector |\n", num(g(m, "db_MiB")), num(g(m, "db_B/sector")))
	p("\nThe util commands are the real binary, process start included; best of 5.\n")

	wf := "BenchmarkWorkerFootprint/threads="
	p("\n## 3. Worker footprint\n\n")
	p("A real `venus-worker daemon`; VmRSS once every idle thread has asked the manager for a sector.\n\n")
	p("| threads | VmRSS | x 1 thread |\n|---|---|---|\n")
	for _, n := range []string{"1", "64", "256"} {
		p("| %s | %s MiB | %s |\n", n, num(g(wf+n, "rss_MiB")), num(g(wf+n, "x_1thread")))
	}
	w256 := wf + "256"
	p("\nWith 256 threads sealing back to back: VmRSS %s MiB.\n\n", num(g(w256, "busy_rss_MiB")))
	p("`VenusWorker.WorkerList` latency with 256 threads, one call at a time (baseline: the same worker idle, p99 %s ms):\n\n", num(g(w256, "idle_list_p99_ms")))
	p("| threads | p50 | p99 | p99 x idle |\n|---|---|---|---|\n")
	p("| each holding a sector (stopped at WaitSeed) | %s ms | %s ms | %s |\n", num(g(w256, "list_p50_ms")), num(g(w256, "list_p99_ms")), num(g(w256, "held_x_idle_p99")))
	p("| sealing back to back (both cores saturated) | %s ms | %s ms | %s |\n", num(g(w256, "churn_list_p50_ms")), num(g(w256, "churn_list_p99_ms")), num(g(w256, "churn_x_idle_p99")))

	p("\n## 4. Data path\n\n")
	p("From `scripts/bench-datapath.sh` (1GiB of random data streamed from a file); baselines timed between the iterations.\n\n")
	p("| | MB/s | baseline | ratio |\n|---|---|---|---|\n")
	p("| AddPiece+CommP into a staged file | %s | go-fil-commp-hashhash: %s MB/s | %sx |\n", num(g("BenchmarkAddPieceCommP", "MB/s")), num(g("BenchmarkAddPieceCommP", "hashhash_MB/s")), num(g("BenchmarkAddPieceCommP", "x_hashhash")))
	p("| CommP alone | %s | go-fil-commp-hashhash: %s MB/s | %sx |\n", num(g("BenchmarkCommP", "MB/s")), num(g("BenchmarkCommP", "hashhash_MB/s")), num(g("BenchmarkCommP", "x_hashhash")))
	p("| tree_d build, file to file | %s | SHA-256 limit (raw SHA-256 on all cores / 4): %s MB/s | %sx |\n", num(g("BenchmarkTreeD", "MB/s")), num(g("BenchmarkTreeD", "sha256_MB/s")/4), num(g("BenchmarkTreeD", "x_sha_limit")))

	rc := "BenchmarkRecovery"
	p("\n## 5. Recovery\n\n")
	p("64 threads each holding a persisted job (sealed up to WaitSeed), the worker SIGKILLed and started again: time from\n")
	p("starting `venus-worker daemon` to the last thread asking for its seed again. Baseline: the same start on 64 empty\n")
	p("locations, to the last thread asking for a sector.\n\n")
	p("| recovery | fresh start | ratio |\n|---|---|---|\n| %s ms | %s ms | %s |\n", num(g(rc, "recovery_ms")), num(g(rc, "fresh_ms")), num(g(rc, "x_fresh")))
	chainSection(p, g)
	operationsSection(p, g)
	postSection(p, g)
	if notes != "" {
		p("\n%s", notes)
	}
}

// operationsSection is issue 13's figures: what the metrics cost the pipeline, a scrape of a busy
// worker, and the dashboard in a browser.
func operationsSection(p func(string, ...any), g func(name, unit string) float64) {
	p("\n## 7. Operations: metrics and dashboard\n\n")
	p("`BenchmarkPipelineMetrics`: the pipeline of section 1, wired as the daemon wires it, with the worker's metrics off and\n")
	p("on (every state, stage, limitation wait and manager call recorded; the registry scraped every second, 15x Prometheus's\n")
	p("default), alternating, %d rounds each; best round of each, thread time per sector.\n\n", 3)
	p("| threads | metrics off | metrics on | on over off |\n|---|---|---|---|\n")
	for _, n := range []int{1, 8} {
		name := fmt.Sprintf("BenchmarkPipelineMetrics/threads=%d", n)
		p("| %d | %s ms | %s ms | %s |\n", n, num(g(name, "off_ms/sector/thread")), num(g(name, "on_ms/sector/thread")), num(g(name, "on_x_off")))
	}
	w := "BenchmarkWorkerFootprint/threads=256"
	p("\n`/debug/metrics` of a real worker with 256 threads each holding a sector (section 3), 200 scrapes one at a time:\n")
	p("p50 %s ms, p99 %s ms, %s KiB; p50 over the same worker's `WorkerList` p50: %sx.\n", num(g(w, "scrape_p50_ms")),
		num(g(w, "scrape_p99_ms")), num(g(w, "scrape_KiB")), num(g(w, "scrape_x_list_p50")))
	d := "BenchmarkDashboardLoad"
	p("\n`BenchmarkDashboardLoad`: the dashboard opened in headless Chromium until its tables are filled, against a manager with\n")
	p("1,000 workers and 10,000 sectors; baseline: the same page against an empty manager.\n\n")
	p("| full | empty | ratio |\n|---|---|---|\n| %s ms | %s ms | %s |\n", num(g(d, "page_ms")), num(g(d, "empty_ms")), num(g(d, "x_empty")))
}

// postSection is issue 14's figures: a deadline proven against the simulated Lotus node, and the
// sector check before each proof beside a plain stat and read of the same files.
func postSection(p func(string, ...any), g func(name, unit string) float64) {
	p("\n## 8. WindowPoSt\n\n")
	p("`BenchmarkPoSt`: one deadline of 2KiB sectors (2 per partition) proven by the scheduler against the simulated Lotus node\n")
	p("over JSON-RPC, mock proofs, every sector's files checked on disk. Open to sent: the scheduler's step at the deadline's\n")
	p("open, from reading the head to the last SubmitWindowedPoSt pushed; baseline: a 1-partition deadline proven in the same\n")
	p("iteration. Node calls per deadline: from its open to its close, the scheduler polling every 2 epochs (the default\n")
	p("ChainEventInterval of 1 minute on 30 s epochs), messages followed until they land.\n\n")
	p("| partitions | open to sent | x 1 partition | node calls to prove | node calls / deadline | messages |\n|---|---|---|---|---|---|\n")
	for _, n := range []int{1, 10, 100} {
		name := fmt.Sprintf("BenchmarkPoSt/partitions=%d", n)
		p("| %d | %s ms | %s | %s | %s | %s |\n", n, num(g(name, "open_to_sent_ms")), num(g(name, "x_1partition")),
			num(g(name, "node_calls/prove")), num(g(name, "node_calls/deadline")), num(g(name, "msgs/deadline")))
	}
	c := "BenchmarkSectorCheck"
	p("\n`BenchmarkSectorCheck`: 1,000 sectors' files checked through `Venus.CheckProvable` (the persist index read from the\n")
	p("kvstore, then each file stat'ed), against a plain `stat` and a 1-byte read of the same files in the same run.\n\n")
	p("| CheckProvable | stat + read | time over baseline |\n|---|---|---|\n| %s sectors/s | %s sectors/s | %s |\n",
		num(g(c, "sectors/s")), num(g(c, "baseline_sectors/s")), num(g(c, "x_baseline")))
	w := "BenchmarkWinningPoSt"
	p("\n`BenchmarkWinningPoSt`: venus-miner's `ComputeProof` for one 2KiB sector through the fake venus-gateway's websocket\n")
	p("to the manager's listener (files checked, mock proof, answer over `ResponseProofEvent`), against the same proof by a\n")
	p("direct call of the listener's prover in the same iteration. With real proofs (seconds) the round trip vanishes.\n\n")
	p("| through the gateway | direct | ratio |\n|---|---|---|\n| %s ms | %s ms | %s |\n",
		num(g(w, "answer_ms")), num(g(w, "direct_ms")), num(g(w, "x_direct")))
}

// chainSection is issue 11's figures: the production manager (manager.Build) against the
// simulated Lotus node over JSON-RPC, set beside the mock's in-process chain.
func chainSection(p func(string, ...any), g func(name, unit string) float64) {
	p("\n## 6. Production manager on a Lotus-shaped node\n\n")
	p("`BenchmarkChainSectors`: sectors sealed through the manager's API from allocation to finalization, the manager built\n")
	p("as `daemon run` builds it and talking JSON-RPC to the simulated full node (`sectormgr/simchain`, 30 s epochs, 150-epoch\n")
	p("seed delay), with both batchers at the given threshold. Baseline: the mock, whose chain is in-process.\n\n")
	p("| | node calls / sector | PreCommit msgs / sector | ProveCommit msgs / sector | manager CPU ms / sector | CPU over mock |\n|---|---|---|---|---|---|\n")
	for _, sub := range []string{"mock", "threshold=1", "threshold=4", "threshold=16"} {
		name := "BenchmarkChainSectors/" + sub
		ratio := num(g(name, "x_mock"))
		if sub == "mock" {
			ratio = "1 (baseline)"
		}
		p("| %s | %s | %s | %s | %s | %s |\n", sub, num(g(name, "node_calls/sector")), num(g(name, "pre_msgs/sector")),
			num(g(name, "prove_msgs/sector")), num(g(name, "cpu_ms/sector")), ratio)
	}
	in := "BenchmarkChainInFlight"
	p("\n`BenchmarkChainInFlight`: 1,000 pre-committed sectors waiting for their seeds and 1,000 pinged workers, while\n")
	p("sealing threads poll their pre-commits. Baselines: a no-op RPC on the same server, and `sectors state` of one sector.\n\n")
	p("| | figure | baseline | ratio |\n|---|---|---|---|\n")
	p("| `WorkerPingInfoList` p99 | %s ms | no-op p99: %s ms | %s |\n", num(g(in, "list_p99_ms")), num(g(in, "noop_p99_ms")), num(g(in, "list_x_noop")))
	p("| `util sealer sectors list` (1,000 sectors), best of 5 | %s ms | `sectors state` | %s |\n", num(g(in, "sectors_list_ms")), num(g(in, "sectors_list_x_state")))
}

func main() {
	results := flag.String("results", "bench/results.txt", "raw go test -bench output")
	out := flag.String("out", "BENCHMARKS.md", "report to write")
	notes := flag.String("notes", "bench/notes.md", "hand-written closing note appended to the report (skipped if missing)")
	machine := map[string]*string{}
	for _, k := range []string{"nproc", "cpu", "go", "commit", "elapsed"} {
		machine[k] = flag.String(k, "", "machine: "+k)
	}
	flag.Parse()
	f, err := os.Open(*results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkreport:", err)
		os.Exit(1)
	}
	defer f.Close()
	res, err := Parse(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkreport: %s: %v\n", *results, err)
		os.Exit(1)
	}
	var note string
	if raw, err := os.ReadFile(*notes); err == nil {
		note = string(raw)
	}
	m := map[string]string{}
	for k, v := range machine {
		m[k] = *v
	}
	var sb strings.Builder
	Report(&sb, res, m, note)
	if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkreport:", err)
		os.Exit(1)
	}
}
