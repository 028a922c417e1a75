package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
	"github.com/ipfs-force-community/venus-cluster-go/worker/sealing"
)

// The fault-injection ("chaos") tests: a mock manager with --home and a worker with several
// threads, both real processes, stopped at random moments and restarted, then run down to
// quiescence and audited. The knobs (environment) let `make soak` run them far longer:
//
//	VC_CHAOS_SEED           seed of the kill schedule (printed by every run; set it to replay the
//	                        schedule: the processes' own timing still varies from run to run)
//	VC_CHAOS_KILLS          worker stops (default 20)
//	VC_CHAOS_MANAGER_KILLS  manager stops (default 3)
//	VC_CHAOS_THREADS        sealing threads (default 4)
//	VC_CHAOS_MAX_DELAY      longest run between a start and its stop (default 1s)
type chaosParams struct {
	seed                uint64
	kills, managerKills int
	threads             int
	maxDelay            time.Duration
	signal              syscall.Signal
	stopBound           time.Duration // how long a SIGTERM may take
	// how long each stop took
	workerStops, managerStops []time.Duration
}

func chaosEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

func newChaosParams(t *testing.T, sig syscall.Signal) *chaosParams {
	p := &chaosParams{
		seed:         uint64(time.Now().UnixNano()),
		kills:        chaosEnvInt(t, "VC_CHAOS_KILLS", 20),
		managerKills: chaosEnvInt(t, "VC_CHAOS_MANAGER_KILLS", 3),
		threads:      chaosEnvInt(t, "VC_CHAOS_THREADS", 4),
		maxDelay:     time.Second,
		signal:       sig,
		stopBound:    15 * time.Second,
	}
	if v := os.Getenv("VC_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("VC_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		p.seed = s
	}
	if v := os.Getenv("VC_CHAOS_MAX_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("VC_CHAOS_MAX_DELAY=%q: want a positive duration such as 2s", v)
		}
		p.maxDelay = d
	}
	if p.threads == 0 {
		t.Fatal("VC_CHAOS_THREADS=0: want at least one thread")
	}
	return p
}

func TestChaosSIGKILL(t *testing.T) { runChaos(t, newChaosParams(t, syscall.SIGKILL)) }

// SIGTERM must let the running step finish or stop it cleanly, persist, and exit 0 in bounded
// time, every time.
func TestChaosSIGTERM(t *testing.T) { runChaos(t, newChaosParams(t, syscall.SIGTERM)) }

func runChaos(t *testing.T, p *chaosParams) {
	t.Logf("chaos seed %d (replay with VC_CHAOS_SEED=%d), signal %v, %d worker stops, %d manager stops, %d threads",
		p.seed, p.seed, p.signal, p.kills, p.managerKills, p.threads)
	rng := rand.New(rand.NewPCG(p.seed, 0x5eed))
	delay := func() time.Duration { return time.Duration(rng.Int64N(int64(p.maxDelay))) }

	cl := &homeCluster{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), home: filepath.Join(t.TempDir(), "home")}
	m := cl.startManager(t)
	w := newWorkerSetup(t, cl.addr, p.threads)
	cl.w = w
	// The manager's home turns token auth on: the worker seals with a write token.
	writeWorkerToken(t, w, cl.createToken(t, "write"))
	// Manager outages here are short: a thread must ride them out on retries, so a pause in this
	// test means a bug (the outage-then-pause path has its own test).
	relaxRetries(t, w, 50)

	// Phase 1: the worker is stopped at random moments and restarted each time. Where the
	// threads were when it was stopped is logged, to show what the schedule covered.
	at := map[string]int{}
	c := cl.adminClient(t)
	for i := 0; i < p.kills; i++ {
		wp := startWorker(t, w)
		time.Sleep(delay())
		if list, err := c.WorkerList(context.Background()); err == nil {
			for _, th := range list {
				at[th.State]++
			}
		}
		p.workerStops = append(p.workerStops, stopWorker(t, wp, p.signal, p.stopBound))
	}
	t.Logf("thread states just before the worker stops: %v", at)
	finishedAfterWorkerKills := len(cl.finishedNumbers(t))

	// Phase 2: the manager is stopped at random moments while the worker seals.
	wp := startWorker(t, w)
	for i := 0; i < p.managerKills; i++ {
		time.Sleep(delay())
		p.managerStops = append(p.managerStops, stopManager(t, m, p.signal, p.stopBound))
		time.Sleep(delay() / 2)
		m = cl.startManager(t)
	}

	// Quiescence: the manager comes back allocating nothing new, and the threads finish what
	// they hold.
	stopManager(t, m, p.signal, p.stopBound)
	m = cl.startManager(t, "--max-sectors", "1")
	waitFor(t, "every thread idle or paused", 120*time.Second, func() bool {
		list, err := c.WorkerList(context.Background())
		if err != nil {
			return false
		}
		for _, th := range list {
			if th.SectorID != nil && !th.Paused {
				return false
			}
		}
		return true
	})
	list := threads(t, c)
	stopWorker(t, wp, syscall.SIGTERM, p.stopBound)

	a := cl.audit(t, list)
	stopManager(t, m, syscall.SIGTERM, p.stopBound)
	auditManagerHome(t, cl.home)

	t.Logf("chaos seed %d: %d worker %v survived (%d sectors finished by then), %d manager %v survived; "+
		"sectors finished %d, paused %d, orphan allocations %d (aborted through util), lost %d; slowest stop: worker %s, manager %s",
		p.seed, len(p.workerStops), p.signal, finishedAfterWorkerKills, len(p.managerStops), p.signal,
		len(a.finished), len(a.paused), len(a.orphans), a.lost, maxDuration(p.workerStops), maxDuration(p.managerStops))
	// A graceful stop reads every answer it asked for: only a kill can lose an allocation's reply.
	if p.signal == syscall.SIGTERM && len(a.orphans) != 0 {
		t.Errorf("%d orphan allocations after SIGTERMs: %v", len(a.orphans), a.orphans)
	}
	if finishedAfterWorkerKills == 0 || len(a.finished) <= finishedAfterWorkerKills {
		t.Errorf("no progress: %d sectors finished after the worker kills, %d at the end", finishedAfterWorkerKills, len(a.finished))
	}
}

// homeCluster is a manager with --home (restarted on the same address and home) and its worker.
// The home turns token auth on: util commands use the home's admin token, the worker a write
// token in its config.
type homeCluster struct {
	addr, home string
	w          *workerSetup
	// managerLogs are the logs of every manager run.
	managerLogs []string
}

// startManager starts `venus-sector-manager mock --home` and waits until it answers util.
func (cl *homeCluster) startManager(t *testing.T, extra ...string) *managerProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "manager-*.log")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", cl.addr, "--home", cl.home}, extra...)
	cmd := exec.Command(bin("venus-sector-manager"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cl.managerLogs = append(cl.managerLogs, logf.Name())
	p := &managerProc{cmd: cmd, addr: cl.addr, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("manager log (%s):\n%s", logf.Name(), tail(string(b), 3000))
		}
	})
	waitFor(t, "manager listening", 30*time.Second, func() bool { return cl.util(t, "worker", "list").code == 0 })
	return p
}

// util runs `venus-sector-manager --home <home> util --listen <addr> args...`.
func (cl *homeCluster) util(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, bin("venus-sector-manager"), append([]string{"--home", cl.home, "util", "--listen", cl.addr}, args...)...)
}

func (cl *homeCluster) createToken(t *testing.T, perm string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, bin("venus-sector-manager"), "--home", cl.home, "auth", "create-token", "--perm", perm).stdout)
}

// adminToken is the admin token the manager keeps in its home.
func (cl *homeCluster) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cl.home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// managerClient is a client of the manager with the admin token.
func (cl *homeCluster) managerClient(t *testing.T) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), "http://"+cl.addr+api.ManagerRPCPath, api.AuthHeader(cl.adminToken(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// adminClient is a client of the worker's admin api with the manager's admin token, which the
// worker has the manager verify.
func (cl *homeCluster) adminClient(t *testing.T) *api.WorkerAdminClient {
	t.Helper()
	c, closer, err := api.NewWorkerAdminClient(context.Background(), cl.w.adminAddr, api.AuthHeader(cl.adminToken(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// writeWorkerToken puts sector_manager.rpc_client.token into the worker's config.
func writeWorkerToken(t *testing.T, w *workerSetup, token string) {
	t.Helper()
	b, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "rpc_client.addr = ")
	if i < 0 {
		t.Fatal("rpc_client.addr not found in the worker config")
	}
	s := string(b[:i]) + fmt.Sprintf("rpc_client.token = %q\n", token) + string(b[i:])
	if err := os.WriteFile(w.cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// relaxRetries raises sealing.max_retries in the worker's config.
func relaxRetries(t *testing.T, w *workerSetup, n int) {
	t.Helper()
	b, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "max_retries = 3\n", fmt.Sprintf("max_retries = %d\n", n), 1)
	if s == string(b) {
		t.Fatal("max_retries not found in the worker config")
	}
	if err := os.WriteFile(w.cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stopWorker sends sig and waits for the exit. A SIGTERM must end the process with status 0
// within bound; a SIGKILL just ends it.
func stopWorker(t *testing.T, p *workerProc, sig syscall.Signal, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal the worker: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(bound):
		t.Fatalf("worker still running %s after %v", bound, sig)
	}
	took := time.Since(start)
	if sig == syscall.SIGTERM && p.err != nil {
		t.Fatalf("worker exit after SIGTERM: %v (want status 0); log %s", p.err, p.log.Name())
	}
	return took
}

// stopManager is stopWorker for a manager process.
func stopManager(t *testing.T, m *managerProc, sig syscall.Signal, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := m.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal the manager: %v", err)
	}
	select {
	case <-m.exited:
	case <-time.After(bound):
		t.Fatalf("manager still running %s after %v", bound, sig)
	}
	took := time.Since(start)
	if code := m.cmd.ProcessState.ExitCode(); sig == syscall.SIGTERM && code != 0 {
		t.Fatalf("manager exit after SIGTERM: %v (want status 0)", m.cmd.ProcessState)
	}
	return took
}

func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m.Round(time.Millisecond)
}

// finishedNumbers lists the sectors the manager has finalized (not aborted); nil while it is
// unreachable.
func (cl *homeCluster) finishedNumbers(t *testing.T) []abi.SectorNumber {
	t.Helper()
	offline, err := cl.managerClient(t).ListSectors(context.Background(), api.WorkerOffline, api.SectorWorkerJobAll)
	if err != nil {
		return nil
	}
	var out []abi.SectorNumber
	for _, st := range offline {
		if st.AbortReason == "" {
			out = append(out, st.ID.Number)
		}
	}
	return out
}

type audit struct {
	finished []*api.SectorState
	paused   map[abi.SectorID]string // sector -> last_error of the thread holding it
	orphans  []abi.SectorID
	// lost counts sectors that are neither finished, nor held by a thread, nor orphans.
	lost int
}

// auditCluster checks the end state: every sector the manager allocated is finished, held by a
// paused thread that says why, or an orphan allocation (its reply was lost: never reported,
// nothing on disk), which the operator aborts; no number was sealed twice; every location's
// metadb decodes; the persist store holds exactly the finished sectors' files.
func (cl *homeCluster) audit(t *testing.T, list []api.WorkerThreadInfo) audit {
	t.Helper()
	ctx := context.Background()
	c := cl.managerClient(t)
	w := cl.w
	a := audit{paused: map[abi.SectorID]string{}}
	for _, th := range list {
		if !th.Paused {
			continue
		}
		if th.LastError == nil || *th.LastError == "" {
			t.Errorf("thread %d paused without a last_error: %+v", th.Index, th)
		}
		if th.SectorID != nil {
			a.paused[*th.SectorID] = *th.LastError
		}
		t.Errorf("thread %d paused: sector %v, state %s, last_error %v", th.Index, th.SectorID, th.State, *th.LastError)
	}

	offline, err := c.ListSectors(ctx, api.WorkerOffline, api.SectorWorkerJobAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range offline {
		if st.AbortReason != "" || !st.Finalized {
			t.Errorf("sector %s LOST: offline but not finished: finalized=%v abort=%q", api.FormatSectorID(st.ID), st.Finalized, st.AbortReason)
			a.lost++
			continue
		}
		a.finished = append(a.finished, st)
	}
	online, err := c.ListSectors(ctx, api.WorkerOnline, api.SectorWorkerJobAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range online {
		name := api.FormatSectorID(st.ID)
		if _, ok := a.paused[st.ID]; ok {
			continue
		}
		history, err := c.SectorHistory(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		// An allocation whose reply was lost: the worker never recorded the number, so it never
		// reported, asked for a ticket, or wrote a file of it.
		if st.LatestState != nil || len(history) != 0 || st.Ticket != nil || st.Pre != nil {
			t.Errorf("sector %s LOST: online, held by no thread, latest state %+v, %d history entries", name, st.LatestState, len(history))
			a.lost++
			continue
		}
		a.orphans = append(a.orphans, st.ID)
	}
	// The documented remedy for orphans: the operator aborts them.
	for _, sid := range a.orphans {
		r := cl.util(t, "sealer", "sectors", "abort", strconv.FormatUint(uint64(sid.Miner), 10), strconv.FormatUint(uint64(sid.Number), 10))
		if r.code != 0 {
			t.Errorf("abort orphan %v: exit %d: %s", sid, r.code, r.stderr)
		}
	}
	if rest, _ := c.ListSectors(ctx, api.WorkerOnline, api.SectorWorkerJobAll); len(rest) != len(a.paused) {
		t.Errorf("%d sectors online after aborting the orphans, want the %d paused ones", len(rest), len(a.paused))
	}

	// No number sealed twice: one thread (location) did all of a sector's steps, and reported
	// each forward transition at most once.
	for _, st := range a.finished {
		history, err := c.SectorHistory(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		locs := map[string]bool{}
		seen := map[string]int{}
		for _, h := range history {
			locs[h.Worker.Location] = true
			if h.Failure == nil && h.StateChange.Event != "SetState" {
				seen[h.StateChange.Prev+">"+h.StateChange.Next]++
			}
		}
		if len(locs) != 1 {
			t.Errorf("sector %s was worked on by %d locations: %v", api.FormatSectorID(st.ID), len(locs), locs)
		}
		for tr, n := range seen {
			if n > 1 {
				t.Errorf("sector %s: transition %s reported %d times", api.FormatSectorID(st.ID), tr, n)
			}
		}
	}

	auditLocations(t, w, list)
	auditStore(t, w, a)
	auditLogs(t, w, cl.managerLogs)
	return a
}

// auditLogs reads the logs of every worker and manager run: no sector was aborted on the worker
// side (say, after a lost ReportFinalized reply), nothing panicked, and no race was reported
// (VC_E2E_RACE builds the daemons with the race detector).
func auditLogs(t *testing.T, w *workerSetup, managerLogs []string) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(w.dir, "worker-*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("worker logs: %v %v", logs, err)
	}
	for i, name := range append(logs, managerLogs...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		worker := i < len(logs)
		for _, line := range strings.Split(string(b), "\n") {
			if (worker && strings.Contains(line, "\tsector aborted\t")) || strings.HasPrefix(line, "panic:") || strings.Contains(line, "DATA RACE") {
				t.Errorf("%s: %s", filepath.Base(name), line)
			}
		}
	}
}

// auditLocations opens every location's metadb and decodes it: a paused thread's record is in
// the thread's state, an idle one is Empty with an empty data dir.
func auditLocations(t *testing.T, w *workerSetup, list []api.WorkerThreadInfo) {
	t.Helper()
	for i, loc := range w.stores {
		db, err := kvstore.Open(filepath.Join(loc, "meta"))
		if err != nil {
			t.Errorf("location %s: metadb: %v", loc, err)
			continue
		}
		var rec *sealing.Record
		err = db.Scan("", func(key string, value []byte) error {
			if key != "meta/info" {
				return fmt.Errorf("unexpected key %q", key)
			}
			rec = &sealing.Record{}
			return json.Unmarshal(value, rec)
		})
		db.Close()
		if err != nil {
			t.Errorf("location %s: metadb does not decode: %v", loc, err)
			continue
		}
		th := list[i]
		switch {
		case th.Paused && th.SectorID != nil:
			if rec == nil || rec.State.String() != th.State || rec.SectorID() == nil || *rec.SectorID() != *th.SectorID {
				t.Errorf("location %s: record %+v does not match the paused thread %+v", loc, rec, th)
			}
		default:
			if rec != nil && (rec.State != sealing.Empty || rec.Base != nil) {
				t.Errorf("location %s: idle thread holds a record in state %s", loc, rec.State)
			}
			if entries, _ := os.ReadDir(filepath.Join(loc, "data")); len(entries) != 0 {
				t.Errorf("location %s: data dir of an idle thread holds %d entries", loc, len(entries))
			}
		}
	}
}

// auditStore checks the persist store holds the finished sectors' sealed and cache files, each
// whole (the sealed file is stamped with the CommR the manager accepted), anything else only
// under a paused sector's names, and no temporary.
func auditStore(t *testing.T, w *workerSetup, a audit) {
	t.Helper()
	want := map[string]bool{"sealed": true, "cache": true}
	for _, st := range a.finished {
		name := api.FormatSectorID(st.ID)
		want["sealed/"+name] = true
		want["cache/"+name] = true
		for _, f := range []string{"sc-02-data-tree-r-last.dat", "p_aux", "t_aux"} {
			want["cache/"+name+"/"+f] = true
		}
		sealed, err := os.ReadFile(filepath.Join(w.persist, "sealed", name))
		if err != nil {
			t.Errorf("sector %s: %v", name, err)
			continue
		}
		commR, err := commcid.CIDToReplicaCommitmentV1(st.Pre.CommR)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != 2048 || !bytes.Equal(sealed[:32], commR) {
			t.Errorf("sector %s: persisted sealed file (%d bytes) is not the replica of the accepted CommR", name, len(sealed))
		}
	}
	var allowed []string
	for sid := range a.paused {
		name := api.FormatSectorID(sid)
		allowed = append(allowed, "sealed/"+name, "cache/"+name)
	}
	var got []string
	err := filepath.WalkDir(w.persist, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.persist, path)
		if rel == "." {
			return nil
		}
		got = append(got, rel)
		if want[rel] {
			return nil
		}
		for _, p := range allowed {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				if strings.Contains(filepath.Base(rel), ".tmp-") {
					t.Errorf("persist store: temporary %s", rel)
				}
				return nil
			}
		}
		t.Errorf("persist store holds %s, which belongs to no finished sector", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	var missing []string
	for p := range want {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("persist store lacks %v", missing)
	}
}

// auditManagerHome opens the stopped manager's state and decodes every record.
func auditManagerHome(t *testing.T, home string) {
	t.Helper()
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatalf("manager home: %v", err)
	}
	defer db.Close()
	n := 0
	err = db.Scan("", func(key string, value []byte) error {
		n++
		switch {
		case strings.HasPrefix(key, "sector-states/"), strings.HasPrefix(key, "sector-states-offline/"):
			var st api.SectorState
			return json.Unmarshal(value, &st)
		case strings.HasPrefix(key, "sector-history/"):
			var h api.SectorHistoryEntry
			return json.Unmarshal(value, &h)
		case strings.HasPrefix(key, "sector-history-len/"):
			_, err := strconv.ParseUint(string(value), 10, 64)
			return err
		case strings.HasPrefix(key, "worker/"):
			var p api.WorkerPingInfo
			return json.Unmarshal(value, &p)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("manager home: %d records, %v", n, err)
	}
}
