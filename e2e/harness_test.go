// Package e2e runs the two daemons together the way users do: a mock manager and a real
// venus-worker process, driven through the venus-worker CLI.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vc-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	args := []string{"build", "-o", binDir + "/"}
	if os.Getenv("VC_E2E_RACE") != "" {
		// The daemons with the race detector (make soak): a report lands in their logs.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/venus-worker", "./cmd/venus-sector-manager")...)
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// gatedManager is the mock manager with knobs a test needs: it can hold every sector at WaitSeed,
// and it counts what the worker sent.
type gatedManager struct {
	*mock.Mock
	holdSeeds atomic.Bool

	mu         sync.Mutex
	precommits map[abi.SectorID]int
	aborted    map[abi.SectorID]string
}

func (g *gatedManager) WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	if g.holdSeeds.Load() {
		return api.WaitSeedResp{ShouldWait: true, Delay: 1}, nil
	}
	return g.Mock.WaitSeed(ctx, sid)
}

func (g *gatedManager) SubmitPreCommit(ctx context.Context, s api.AllocatedSector, info api.PreCommitOnChainInfo, reset bool) (api.SubmitPreCommitResp, error) {
	g.mu.Lock()
	g.precommits[s.ID]++
	g.mu.Unlock()
	return g.Mock.SubmitPreCommit(ctx, s, info, reset)
}

func (g *gatedManager) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	g.mu.Lock()
	g.aborted[sid] = reason
	g.mu.Unlock()
	return g.Mock.ReportAborted(ctx, sid, reason)
}

func (g *gatedManager) precommitCount(sid abi.SectorID) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.precommits[sid]
}

func (g *gatedManager) abortReason(sid abi.SectorID) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.aborted[sid]
	return r, ok
}

// finalized lists the sectors the manager saw finish (not abort).
func (g *gatedManager) finalized() []api.SectorState {
	var out []api.SectorState
	for _, s := range g.Sectors(true) {
		if s.Finalized && s.AbortReason == "" {
			out = append(out, s)
		}
	}
	return out
}

// startManager serves a gated mock manager for miner 10000, 2KiB sectors, on 127.0.0.1.
func startManager(t *testing.T) (*gatedManager, string) {
	t.Helper()
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedManager{Mock: m, precommits: map[abi.SectorID]int{}, aborted: map[abi.SectorID]string{}}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := server.Serve(ctx, ln, server.New(g)); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return g, ln.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// workerSetup is a worker's config and directories, initialised with the venus-worker CLI.
type workerSetup struct {
	dir, cfg, persist string
	stores            []string
	adminAddr         string
}

func newWorkerSetup(t *testing.T, managerAddr string, threads int) *workerSetup {
	t.Helper()
	dir := t.TempDir()
	w := &workerSetup{dir: dir, cfg: filepath.Join(dir, "worker.toml"), persist: filepath.Join(dir, "remote")}
	port := freePort(t)
	w.adminAddr = fmt.Sprintf("127.0.0.1:%d", port)
	host, mport, _ := net.SplitHostPort(managerAddr)
	var b strings.Builder
	fmt.Fprintf(&b, `[worker]
name = "e2e-worker"
rpc_server.host = "127.0.0.1"
rpc_server.port = %d
ping_interval = "1s"

[sector_manager]
rpc_client.addr = "/ip4/%s/tcp/%s"

[sealing]
seal_interval = "100ms"
recover_interval = "200ms"
rpc_polling_interval = "100ms"
max_retries = 3
`, port, host, mport)
	for i := 0; i < threads; i++ {
		loc := filepath.Join(dir, fmt.Sprintf("store%d", i+1))
		w.stores = append(w.stores, loc)
		fmt.Fprintf(&b, "\n[[sealing_thread]]\nlocation = %q\n", loc)
	}
	fmt.Fprintf(&b, "\n[[attached]]\nname = \"persist-store1\"\nlocation = %q\n", w.persist)
	if err := os.WriteFile(w.cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"store", "sealing-init"}
	for _, s := range w.stores {
		args = append(args, "-l", s)
	}
	mustRun(t, bin("venus-worker"), args...)
	mustRun(t, bin("venus-worker"), "store", "file-init", "-l", w.persist)
	return w
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, name string, args ...string) result {
	t.Helper()
	r := run(t, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %v exited %d\nstdout: %s\nstderr: %s", name, args, r.code, r.stdout, r.stderr)
	}
	return r
}

// workerProc is a running `venus-worker daemon`.
type workerProc struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
}

func startWorker(t *testing.T, w *workerSetup) *workerProc {
	t.Helper()
	logf, err := os.CreateTemp(w.dir, "worker-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin("venus-worker"), "daemon", "-c", w.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &workerProc{cmd: cmd, log: logf, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("worker log (%s):\n%s", logf.Name(), tail(string(b), 6000))
		}
	})
	waitFor(t, "worker admin api", 30*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", w.adminAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return p
}

func (p *workerProc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func adminClient(t *testing.T, w *workerSetup) *api.WorkerAdminClient {
	t.Helper()
	c, closer, err := api.NewWorkerAdminClient(context.Background(), w.adminAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

func threads(t *testing.T, c *api.WorkerAdminClient) []api.WorkerThreadInfo {
	t.Helper()
	list, err := c.WorkerList(context.Background())
	if err != nil {
		t.Fatalf("WorkerList: %v", err)
	}
	return list
}

// cli runs `venus-worker worker -c <cfg> <args>`.
func (w *workerSetup) cli(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, bin("venus-worker"), append([]string{"worker", "-c", w.cfg}, args...)...)
}
