package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

var listLine = regexp.MustCompile(`^#(\d+): "([^"]+)"; sector_id=(None|Some\(s-t010000-\d+\)), paused=(true|false), paused_elapsed=(None|Some\((\d+s|0ns)\)), state=([A-Za-z0-9]+), last_err=(None|Some\(".*"\))$`)

func TestSealsSectorsEndToEnd(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 3)
	startWorker(t, w)

	waitFor(t, "6 sectors finalized", 60*time.Second, func() bool { return len(mgr.finalized()) >= 6 })

	// `worker list` prints one line per thread in the seed's format.
	out := w.cli(t, "list")
	if out.code != 0 {
		t.Fatalf("list exited %d: %s", out.code, out.stderr)
	}
	lines := strings.Split(strings.TrimSpace(out.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("list printed %d lines:\n%s", len(lines), out.stdout)
	}
	for i, l := range lines {
		m := listLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("list line does not match the original format: %q", l)
		}
		if m[1] != string(rune('0'+i)) || !strings.HasSuffix(m[2], filepath.Base(w.stores[i])) {
			t.Errorf("line %d = %q", i, l)
		}
	}

	// `worker list --json` carries the same threads as one document (its shape is pinned in api).
	js := w.cli(t, "list", "--json")
	var doc api.ThreadsDoc
	if err := json.Unmarshal([]byte(js.stdout), &doc); js.code != 0 || err != nil || len(doc.Threads) != 3 {
		t.Fatalf("list --json = %d %v:\n%s%s", js.code, err, js.stdout, js.stderr)
	}
	withProgress := 0
	for i, th := range doc.Threads {
		if th.Index != i || !strings.HasSuffix(th.Location, filepath.Base(w.stores[i])) || th.State == "" {
			t.Errorf("thread %d in --json = %+v", i, th)
		}
		if th.StateEnteredAt != nil && (th.SecondsInState == nil || time.Since(*th.StateEnteredAt) > 10*time.Minute) {
			t.Errorf("thread %d in --json: entered its state at %v, %v seconds ago", i, th.StateEnteredAt, th.SecondsInState)
		}
		if th.StateEnteredAt != nil {
			withProgress++
		}
	}
	// A thread that changed state between the two calls the CLI makes shows no progress; three
	// at once would be a worker that does not report it.
	if withProgress == 0 {
		t.Errorf("no thread in --json has its progress:\n%s", js.stdout)
	}

	// A worker without a token serves its metrics open, as its api (on loopback).
	if status, body := scrapeMetrics(t, w.adminAddr, ""); status != 200 || !strings.Contains(body, `venus_worker_threads{plan="sealer"`) {
		t.Errorf("open worker metrics: %d %.300q", status, body)
	}

	// Every finished sector's sealed file and cache files are in the attached store, and every
	// number was sealed once.
	seen := map[abi.SectorNumber]bool{}
	for _, s := range mgr.finalized() {
		if seen[s.ID.Number] {
			t.Errorf("sector %d finalized twice", s.ID.Number)
		}
		seen[s.ID.Number] = true
		name := api.FormatSectorID(s.ID)
		for _, rel := range []string{"sealed/" + name, "cache/" + name + "/sc-02-data-tree-r-last.dat", "cache/" + name + "/p_aux", "cache/" + name + "/t_aux"} {
			if _, err := os.Stat(filepath.Join(w.persist, rel)); err != nil {
				t.Errorf("sector %s: persisted file missing: %v", name, err)
			}
		}
		if s.LatestState == nil || s.LatestState.StateChange.Next != "Finished" || s.LatestState.Worker.Instance != "e2e-worker" {
			t.Errorf("sector %s latest state = %+v", name, s.LatestState)
		}
	}

	// The worker pings the manager with its thread summary.
	waitFor(t, "a ping from e2e-worker", 10*time.Second, func() bool {
		p, _ := mgr.WorkerGetPingInfo(context.Background(), "e2e-worker")
		return p != nil && p.Info.Summary.Threads == 3 && p.Info.Dest == w.adminAddr
	})
}

// holdAll makes every thread wait for its seed, with a sector allocated, and returns the threads.
func holdAll(t *testing.T, mgr *gatedManager, c *api.WorkerAdminClient) []api.WorkerThreadInfo {
	t.Helper()
	mgr.holdSeeds.Store(true)
	var list []api.WorkerThreadInfo
	waitFor(t, "all threads waiting for their seed", 60*time.Second, func() bool {
		list = threads(t, c)
		for _, th := range list {
			if th.State != "PersistanceSubmitted" || th.SectorID == nil {
				return false
			}
		}
		return true
	})
	return list
}

func TestPauseResumeAndAbortThroughTheCLI(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 2)
	startWorker(t, w)
	c := adminClient(t, w)
	held := holdAll(t, mgr, c)
	sid := *held[0].SectorID

	// A pause takes effect within one step; paused_elapsed grows.
	if r := w.cli(t, "pause", "--index", "0"); r.code != 0 || !strings.Contains(r.stderr, "#0 worker pause") || !strings.Contains(r.stderr, `"done": true`) {
		t.Fatalf("pause: code %d stderr %s", r.code, r.stderr)
	}
	waitFor(t, "thread 0 paused", 10*time.Second, func() bool { return threads(t, c)[0].Paused })
	time.Sleep(1100 * time.Millisecond)
	line := strings.Split(w.cli(t, "list").stdout, "\n")[0]
	if !regexp.MustCompile(`paused=true, paused_elapsed=Some\([1-9]\d*s\), state=PersistanceSubmitted, last_err=None$`).MatchString(line) {
		t.Fatalf("list after pause: %s", line)
	}
	if th := threads(t, c)[1]; th.Paused {
		t.Fatalf("thread 1 paused too: %+v", th)
	}

	// Errors the operator can cause are exact.
	if r := w.cli(t, "resume", "--index", "0", "--state", "Foo"); r.code != 1 || !strings.Contains(r.stderr, "invalid state Foo") {
		t.Errorf("resume Foo: code %d stderr %q", r.code, r.stderr)
	}
	if r := w.cli(t, "pause", "--index", "9"); r.code != 1 || !strings.Contains(r.stderr, "worker #9 not found") {
		t.Errorf("pause 9: code %d stderr %q", r.code, r.stderr)
	}
	if r := w.cli(t, "resume", "--index", "1"); r.code != 0 || !strings.Contains(r.stderr, `"done": false`) {
		t.Errorf("resume of a running thread: code %d stderr %q", r.code, r.stderr)
	}

	// Resuming in an earlier state re-runs from there: the pre-commit is submitted again.
	if n := mgr.precommitCount(sid); n != 1 {
		t.Fatalf("precommits of %v before resume = %d", sid, n)
	}
	if r := w.cli(t, "resume", "--index", "0", "--state", "PC2Done"); r.code != 0 || !strings.Contains(r.stderr, `"done": true`) {
		t.Fatalf("resume PC2Done: code %d stderr %s", r.code, r.stderr)
	}
	waitFor(t, "pre-commit re-submitted", 20*time.Second, func() bool { return mgr.precommitCount(sid) == 2 })
	waitFor(t, "thread 0 back at its seed", 20*time.Second, func() bool {
		th := threads(t, c)[0]
		return !th.Paused && th.State == "PersistanceSubmitted"
	})

	// Resuming in Aborted (the docs' "Abort" spelling too) drops the sector; the thread takes a new one.
	w.cli(t, "pause", "--index", "0")
	waitFor(t, "thread 0 paused again", 10*time.Second, func() bool { return threads(t, c)[0].Paused })
	if r := w.cli(t, "resume", "--index", "0", "--state", "Abort"); r.code != 0 {
		t.Fatalf("resume Abort: %s", r.stderr)
	}
	waitFor(t, "manager told of the abort", 20*time.Second, func() bool { _, ok := mgr.abortReason(sid); return ok })
	if reason, _ := mgr.abortReason(sid); reason != "task aborted" {
		t.Errorf("abort reason = %q", reason)
	}
	waitFor(t, "thread 0 on a new sector", 20*time.Second, func() bool {
		th := threads(t, c)[0]
		return th.SectorID != nil && *th.SectorID != sid
	})
	if _, online, found := mgr.Sector(sid); !found || online {
		t.Errorf("aborted sector %v: found=%v online=%v", sid, found, online)
	}
}

func TestKilledWorkerContinuesTheSameSectors(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 3)
	p := startWorker(t, w)
	c := adminClient(t, w)
	held := holdAll(t, mgr, c)
	var before []abi.SectorID
	for _, th := range held {
		before = append(before, *th.SectorID)
	}

	p.kill() // SIGKILL in the middle of every sector
	startWorker(t, w)
	waitFor(t, "threads back on their sectors", 30*time.Second, func() bool {
		for i, th := range threads(t, c) {
			if th.SectorID == nil || *th.SectorID != before[i] {
				return false
			}
		}
		return true
	})
	mgr.holdSeeds.Store(false)
	waitFor(t, "the interrupted sectors finalized", 60*time.Second, func() bool {
		done := map[abi.SectorID]bool{}
		for _, s := range mgr.finalized() {
			done[s.ID] = true
		}
		for _, id := range before {
			if !done[id] {
				return false
			}
		}
		return true
	})
	// Nothing was allocated twice or lost: every sector is finished or still in a thread.
	nums := map[abi.SectorNumber]int{}
	for _, s := range mgr.finalized() {
		nums[s.ID.Number]++
	}
	for n, k := range nums {
		if k != 1 {
			t.Errorf("sector %d finalized %d times", n, k)
		}
	}
	if len(mgr.Sectors(true)) != len(mgr.finalized()) {
		t.Errorf("some sectors were aborted: %d offline, %d finalized", len(mgr.Sectors(true)), len(mgr.finalized()))
	}
}

func TestSIGTERMStopsCleanlyAndRestarts(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 2)
	p := startWorker(t, w)
	c := adminClient(t, w)
	holdAll(t, mgr, c)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not exit within 15s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("worker exit after SIGTERM: %v", p.err)
	}
	// The locations were released: a new daemon opens them at once.
	startWorker(t, w)
	mgr.holdSeeds.Store(false)
	waitFor(t, "sealing goes on after restart", 60*time.Second, func() bool { return len(mgr.finalized()) >= 2 })
}

// TestWorkerListWireJSON checks the admin API answers a raw request as the original does.
func TestWorkerListWireJSON(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 1)
	startWorker(t, w)
	holdAll(t, mgr, adminClient(t, w))

	resp, err := http.Post("http://"+w.adminAddr+"/", "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","method":"VenusWorker.WorkerList","params":[],"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Result) != 1 {
		t.Fatalf("response %s: %v", body, err)
	}
	loc, _ := filepath.EvalSymlinks(w.stores[0])
	want := regexp.MustCompile(`^\{"location":"` + regexp.QuoteMeta(loc) + `","sector_id":\{"Miner":10000,"Number":1\},"index":0,"paused":false,"paused_elapsed":null,"state":"PersistanceSubmitted","last_error":null\}$`)
	if !want.Match(env.Result[0]) {
		t.Errorf("WorkerList item = %s", env.Result[0])
	}
	var keys []string
	var m map[string]any
	_ = json.Unmarshal(env.Result[0], &m)
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "index,last_error,location,paused,paused_elapsed,sector_id,state" {
		t.Errorf("keys = %v", keys)
	}
}
