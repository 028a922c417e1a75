package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// outageManager is the gated mock manager behind a listener that can be closed and opened again
// on the same address: a manager outage (connection refused) that keeps the manager's state.
type outageManager struct {
	*gatedManager
	addr   string
	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{}
}

func startOutageManager(t *testing.T) *outageManager {
	t.Helper()
	impl, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedManager{Mock: impl, precommits: map[abi.SectorID]int{}, aborted: map[abi.SectorID]string{}}
	m := &outageManager{gatedManager: g, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), t: t}
	m.up()
	t.Cleanup(m.down)
	return m
}

func (m *outageManager) up() {
	m.t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may take a little while to hand it back.
	waitFor(m.t, "the manager's port", 10*time.Second, func() bool {
		ln, err = server.Listen(m.addr)
		return err == nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		if err := server.Serve(ctx, ln, server.New(m.gatedManager)); err != nil {
			m.t.Errorf("manager: %v", err)
		}
	}()
}

func (m *outageManager) down() {
	if m.cancel != nil {
		m.cancel()
		<-m.done
		m.cancel = nil
	}
}

// The manager unreachable for a while: each thread's calls fail as temporary errors and are
// retried max_retries times, then the thread pauses with a last_error that says so. Once the
// manager is back, resuming the threads finishes their sectors; nothing is aborted.
func TestManagerOutagePausesAfterRetriesAndResumes(t *testing.T) {
	mgr := startOutageManager(t)
	w := newWorkerSetup(t, mgr.addr, 2)
	wp := startWorker(t, w)
	c := adminClient(t, w)
	held := holdAll(t, mgr.gatedManager, c)

	mgr.down()
	lastErr := regexp.MustCompile(`^permanent: gave up after 3 temporary failures: rpc WaitSeed: .*` +
		regexp.QuoteMeta(mgr.addr) + `.*connection refused`)
	waitFor(t, "both threads paused by the outage", 30*time.Second, func() bool {
		for _, th := range threads(t, c) {
			if !th.Paused {
				return false
			}
		}
		return true
	})
	for i, th := range threads(t, c) {
		if th.State != "PersistanceSubmitted" || th.SectorID == nil || *th.SectorID != *held[i].SectorID ||
			th.LastError == nil || !lastErr.MatchString(*th.LastError) {
			t.Errorf("thread %d after the outage: state %s sector %v last_error %v", i, th.State, th.SectorID, strOrNil(th.LastError))
		}
	}
	// Each thread retried max_retries (3) times before it gave up.
	log, _ := os.ReadFile(wp.log.Name())
	for i := range held {
		for retry := 1; retry <= 3; retry++ {
			pat := regexp.MustCompile(fmt.Sprintf(`temporary failure, will retry\t\{"thread": %d, .*"sector": "%s", .*"retry": %d, "max_retries": 3\}`,
				i, api.FormatSectorID(*held[i].SectorID), retry))
			if !pat.Match(log) {
				t.Errorf("thread %d: no log line for retry %d", i, retry)
			}
		}
	}
	// `worker list` shows why.
	for i, line := range strings.Split(strings.TrimSpace(w.cli(t, "list").stdout), "\n") {
		if !strings.Contains(line, "paused=true") || !strings.Contains(line, `last_err=Some("permanent: gave up after 3 temporary failures: rpc WaitSeed: `) {
			t.Errorf("list line %d: %s", i, line)
		}
	}

	// A resume while the manager is still down pauses the thread again, for the same reason.
	if r := w.cli(t, "resume", "--index", "0"); r.code != 0 {
		t.Fatalf("resume: %s", r.stderr)
	}
	pausedOnFailure := regexp.MustCompile(`sealing thread paused on failure\t\{"thread": 0, `)
	waitFor(t, "thread 0 paused again", 30*time.Second, func() bool {
		log, _ := os.ReadFile(wp.log.Name())
		return len(pausedOnFailure.FindAll(log, -1)) == 2
	})
	if th := threads(t, c)[0]; !th.Paused || th.LastError == nil || !lastErr.MatchString(*th.LastError) {
		t.Errorf("thread 0 after a resume during the outage: %+v", th)
	}

	mgr.holdSeeds.Store(false)
	mgr.up()
	for i := range held {
		if r := w.cli(t, "resume", "--index", fmt.Sprint(i)); r.code != 0 || !strings.Contains(r.stderr, `"done": true`) {
			t.Fatalf("resume %d: exit %d %s", i, r.code, r.stderr)
		}
	}
	waitFor(t, "the held sectors finalized", 60*time.Second, func() bool {
		done := map[abi.SectorID]bool{}
		for _, s := range mgr.finalized() {
			done[s.ID] = true
		}
		return done[*held[0].SectorID] && done[*held[1].SectorID]
	})
	for _, s := range mgr.Sectors(true) {
		if s.AbortReason != "" {
			t.Errorf("sector %s aborted: %s", api.FormatSectorID(s.ID), s.AbortReason)
		}
	}
}

func strOrNil(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// An attached store where the sector's files cannot be created (a read-only mount, a full disk):
// a permanent error naming the store, the sector is not reported persisted, and the store holds
// nothing of it. Once the store is fixed, a resume persists and finishes the sector.
func TestPersistStoreThatCannotBeWritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, store string)
		fix    func(t *testing.T, store string)
		cause  string
	}{{
		// A file where the store needs its sealed/ directory: every create under it fails, as
		// for a root process on a read-only or full file system.
		name:   "not creatable",
		break_: func(t *testing.T, store string) { mustWrite(t, filepath.Join(store, "sealed"), "") },
		fix:    func(t *testing.T, store string) { os.Remove(filepath.Join(store, "sealed")) },
		cause:  "not a directory",
	}, {
		name: "read-only",
		break_: func(t *testing.T, store string) {
			if !permissionsEnforced(t) {
				t.Skip("this process ignores permission bits (root); the not-creatable case covers it")
			}
			os.Chmod(store, 0o555)
		},
		fix:   func(t *testing.T, store string) { os.Chmod(store, 0o755) },
		cause: "permission denied",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			mgr, addr := startManager(t)
			w := newWorkerSetup(t, addr, 1)
			tc.break_(t, w.persist)
			t.Cleanup(func() { tc.fix(t, w.persist) })
			startWorker(t, w)
			c := adminClient(t, w)
			var th api.WorkerThreadInfo
			waitFor(t, "the thread paused", 30*time.Second, func() bool { th = threads(t, c)[0]; return th.Paused })
			root, _ := filepath.EvalSymlinks(w.persist)
			prefix := fmt.Sprintf("permanent: transfer persist sector files to persist-store1 (%s): transfer route 0 (", root)
			if th.State != "PCLanded" || th.LastError == nil || !strings.HasPrefix(*th.LastError, prefix) || !strings.HasSuffix(*th.LastError, tc.cause) {
				t.Fatalf("paused thread: state %s, last_error %s\nwant prefix %q and suffix %q", th.State, strOrNil(th.LastError), prefix, tc.cause)
			}
			sid := *th.SectorID
			history, _ := mgr.SectorHistory(context.Background(), sid)
			for _, h := range history {
				if h.StateChange.Next == "Persisted" || h.StateChange.Next == "PersistanceSubmitted" {
					t.Errorf("reported as persisted: %+v", h)
				}
			}
			if last := history[len(history)-1]; last.Failure == nil || last.Failure.Level != "Permanent" || !strings.Contains(last.Failure.Desc, "persist-store1") {
				t.Errorf("last report: %+v", last)
			}
			entries, _ := os.ReadDir(w.persist)
			for _, e := range entries {
				if tc.name != "not creatable" || e.Name() != "sealed" {
					t.Errorf("store holds %s", e.Name())
				}
			}

			tc.fix(t, w.persist)
			if r := w.cli(t, "resume", "--index", "0"); r.code != 0 {
				t.Fatalf("resume: %s", r.stderr)
			}
			waitFor(t, "the sector finalized", 60*time.Second, func() bool {
				st, online, found := mgr.Sector(sid)
				return found && !online && st.Finalized
			})
			if _, err := os.Stat(filepath.Join(w.persist, "sealed", api.FormatSectorID(sid))); err != nil {
				t.Error(err)
			}
		})
	}
}

// permissionsEnforced tells whether this process is refused a write to a read-only directory
// (root, or CAP_DAC_OVERRIDE, is not).
func permissionsEnforced(t *testing.T) bool {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	return os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644) != nil
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A sector's file deleted under a paused thread: the resume fails at once, before any call to
// the manager, with a last_error naming the file; resuming in Aborted drops the sector.
func TestFileDeletedUnderAPausedThread(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 1)
	startWorker(t, w)
	c := adminClient(t, w)
	held := holdAll(t, mgr, c)
	sid := *held[0].SectorID
	name := api.FormatSectorID(sid)

	if r := w.cli(t, "pause", "--index", "0"); r.code != 0 {
		t.Fatalf("pause: %s", r.stderr)
	}
	waitFor(t, "thread paused", 10*time.Second, func() bool { return threads(t, c)[0].Paused })
	loc, _ := filepath.EvalSymlinks(w.stores[0])
	for _, tc := range []struct{ what, path string }{
		{"sealed file", filepath.Join(loc, "data", "sealed", name)},
		{"cache file", filepath.Join(loc, "data", "cache", name, "t_aux")},
	} {
		if err := os.Rename(tc.path, tc.path+".moved"); err != nil {
			t.Fatal(err)
		}
		if r := w.cli(t, "resume", "--index", "0"); r.code != 0 || !strings.Contains(r.stderr, `"done": true`) {
			t.Fatalf("resume: %s", r.stderr)
		}
		want := fmt.Sprintf("permanent: sector %s in state PersistanceSubmitted: %s: stat %s: no such file or directory "+
			"(resume with --state Aborted to drop the sector, or with an earlier state to make the file again)", name, tc.what, tc.path)
		var th api.WorkerThreadInfo
		waitFor(t, "thread paused on the missing "+tc.what, 20*time.Second, func() bool {
			th = threads(t, c)[0]
			return th.Paused && th.LastError != nil
		})
		if *th.LastError != want {
			t.Fatalf("last_error = %q\nwant       %q", *th.LastError, want)
		}
		line := w.cli(t, "list").stdout
		if !strings.Contains(line, fmt.Sprintf("last_err=Some(%q)", want)) {
			t.Errorf("list: %s", line)
		}
		// Put it back: a resume then goes on (to its held seed).
		if err := os.Rename(tc.path+".moved", tc.path); err != nil {
			t.Fatal(err)
		}
		if r := w.cli(t, "resume", "--index", "0"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		waitFor(t, "thread running again", 20*time.Second, func() bool { th := threads(t, c)[0]; return !th.Paused })
		if r := w.cli(t, "pause", "--index", "0"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		waitFor(t, "thread paused", 10*time.Second, func() bool { return threads(t, c)[0].Paused })
	}

	// With the file gone for good, the operator drops the sector.
	os.Remove(filepath.Join(loc, "data", "sealed", name))
	if r := w.cli(t, "resume", "--index", "0", "--state", "Aborted"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	waitFor(t, "the manager told of the abort", 20*time.Second, func() bool { _, ok := mgr.abortReason(sid); return ok })
}

// lossyManager applies each sector's first ReportFinalized and then fails the call, as if the
// reply was lost (the manager killed after its commit, a dropped connection).
type lossyManager struct {
	*gatedManager
	mu    sync.Mutex
	calls map[abi.SectorID]int
}

func (l *lossyManager) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	l.mu.Lock()
	l.calls[sid]++
	first := l.calls[sid] == 1
	l.mu.Unlock()
	err := l.gatedManager.ReportFinalized(ctx, sid)
	if first && err == nil {
		return errors.New("connection reset by peer (reply lost)")
	}
	return err
}

func (l *lossyManager) finalizeCalls(sid abi.SectorID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[sid]
}

// A ReportFinalized the manager applied but whose reply the worker never read is retried, and the
// manager acknowledges the repeat: the worker finishes the sector, it never aborts it.
func TestLostFinalizeReplyIsRetriedNotAborted(t *testing.T) {
	impl, err := mock.New(10000, 2<<10, mock.WithMaxSectors(2))
	if err != nil {
		t.Fatal(err)
	}
	l := &lossyManager{gatedManager: &gatedManager{Mock: impl, precommits: map[abi.SectorID]int{}, aborted: map[abi.SectorID]string{}},
		calls: map[abi.SectorID]int{}}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); server.Serve(ctx, ln, server.New(l)) }()
	t.Cleanup(func() { cancel(); <-done })

	w := newWorkerSetup(t, ln.Addr().String(), 1)
	wp := startWorker(t, w)
	c := adminClient(t, w)
	waitFor(t, "both sectors done and the thread idle", 60*time.Second, func() bool {
		th := threads(t, c)[0]
		return len(l.finalized()) == 2 && th.SectorID == nil
	})
	for _, s := range l.finalized() {
		if n := l.finalizeCalls(s.ID); n != 2 {
			t.Errorf("sector %s: %d ReportFinalized calls, want 2 (the lost one and its retry)", api.FormatSectorID(s.ID), n)
		}
	}
	l.gatedManager.mu.Lock()
	if len(l.aborted) != 0 {
		t.Errorf("sectors aborted: %v", l.aborted)
	}
	l.gatedManager.mu.Unlock()
	log, _ := os.ReadFile(wp.log.Name())
	if n := strings.Count(string(log), "\tsector finished\t"); n != 2 {
		t.Errorf("%d 'sector finished' lines in the worker log, want 2", n)
	}
	if strings.Contains(string(log), "sector aborted") {
		t.Errorf("the worker aborted a finished sector:\n%s", tail(string(log), 3000))
	}
	if th := threads(t, c)[0]; th.Paused || th.LastError != nil {
		t.Errorf("thread: %+v", th)
	}
}
