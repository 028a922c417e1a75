package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// authManager is a `venus-sector-manager mock --home` process: it requires tokens, and its admin
// token is in <home>/token.
type authManager struct {
	addr, home string
}

func startAuthManager(t *testing.T, extra ...string) *authManager {
	t.Helper()
	return startMockProcess(t, filepath.Join(t.TempDir(), "home"), extra...)
}

// startMockProcess starts `venus-sector-manager mock` on a free loopback port, with --home when
// home is not "" (auth on) and without (an open mock).
func startMockProcess(t *testing.T, home string, extra ...string) *authManager {
	t.Helper()
	m := &authManager{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), home: home}
	logf, err := os.CreateTemp(t.TempDir(), "manager-*.log")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", m.addr}
	if home != "" {
		args = append(args, "--home", home)
	}
	args = append(args, extra...)
	cmd := exec.Command(bin("venus-sector-manager"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("manager log:\n%s", tail(string(b), 4000))
		}
	})
	waitFor(t, "manager listening", 30*time.Second, func() bool { return m.util(t, "worker", "list").code == 0 })
	return m
}

// util runs `venus-sector-manager --home <home> util --listen <addr> args...`: the admin token of
// the home's token file.
func (m *authManager) util(t *testing.T, args ...string) result {
	t.Helper()
	var home []string
	if m.home != "" {
		home = []string{"--home", m.home}
	}
	return run(t, bin("venus-sector-manager"), append(home, append([]string{"util", "--listen", m.addr}, args...)...)...)
}

func (m *authManager) createToken(t *testing.T, perm string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, bin("venus-sector-manager"), "--home", m.home, "auth", "create-token", "--perm", perm).stdout)
}

// setToken writes sector_manager.rpc_client.token into the worker's config.
func setToken(t *testing.T, w *workerSetup, token string) {
	t.Helper()
	raw, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := regexp.MustCompile(`(?m)^rpc_client\.token = .*\n`).ReplaceAllString(string(raw), "")
	cfg = regexp.MustCompile(`(?m)^rpc_client\.addr = .*$`).ReplaceAllStringFunc(cfg, func(line string) string {
		return line + fmt.Sprintf("\nrpc_client.token = %q", token)
	})
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A worker with a write token seals against a manager with auth; its admin api then checks every
// caller's token with the manager: the manager's own (util worker), the worker's own (local CLI),
// none (refused).
func TestAuthWorkerWithTokenSeals(t *testing.T) {
	m := startAuthManager(t)
	w := newWorkerSetup(t, m.addr, 2)
	setToken(t, w, m.createToken(t, "write"))
	startWorker(t, w)

	waitFor(t, "sectors finished", 30*time.Second, func() bool {
		return len(finishedSector.FindAllString(m.util(t, "sealer", "sectors", "list", "--offline").stdout, -1)) >= 2
	})

	// The local CLI sends the config's token: a write token lists…
	if r := w.cli(t, "list"); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("worker list with the config's token: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// …but may not pause, and the error says which token was sent and what to do.
	r := w.cli(t, "pause", "--index", "0")
	if r.code == 0 || !strings.Contains(r.stderr, "missing permission to invoke 'WorkerPause' (need 'admin')") ||
		!strings.Contains(r.stderr, "sector_manager.rpc_client.token of "+w.cfg) {
		t.Errorf("local pause with a write token: %d %s", r.code, r.stderr)
	}
	// No token, no access.
	if _, err := adminClient(t, w).WorkerList(context.Background()); !api.IsPermissionDenied(err) ||
		err.Error() != "missing permission to invoke 'WorkerList' (need 'read')" {
		t.Errorf("admin api without a token: %v", err)
	}
	// A token of another manager is refused by this one, with the reason.
	other := startAuthManager(t)
	c, closer, err := api.NewWorkerAdminClient(context.Background(), w.adminAddr, api.AuthHeader(other.createToken(t, "admin")))
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	if _, err := c.WorkerPause(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "refused the token: invalid token: signature does not match") {
		t.Errorf("pause with another manager's token: %v", err)
	}

	// Through the manager: its own token reaches the worker, which has the manager verify it.
	waitFor(t, "the worker's ping", 20*time.Second, func() bool {
		return strings.Contains(m.util(t, "worker", "list").stdout, "e2e-worker")
	})
	if r := m.util(t, "worker", "pause", "e2e-worker", "0"); r.code != 0 || !strings.Contains(r.stderr, "pause call done, ok = true") {
		t.Fatalf("util worker pause: %d %s", r.code, r.stderr)
	}
	waitFor(t, "thread 0 paused", 20*time.Second, func() bool {
		return strings.HasPrefix(w.cli(t, "list").stdout, "#0: ") && strings.Contains(strings.Split(w.cli(t, "list").stdout, "\n")[0], "paused=true")
	})
	if r := m.util(t, "worker", "resume", "e2e-worker", "0"); r.code != 0 || !strings.Contains(r.stderr, "resume call done, ok = true") {
		t.Fatalf("util worker resume: %d %s", r.code, r.stderr)
	}
	// Another worker's write token cannot take the name over and have the manager call its own
	// address; an address is not a worker either.
	thief, closeThief, err := api.NewManagerClient(context.Background(), "http://"+m.addr+api.ManagerRPCPath, api.AuthHeader(m.createToken(t, "write")))
	if err != nil {
		t.Fatal(err)
	}
	defer closeThief()
	if err := thief.WorkerPing(context.Background(), api.WorkerInfo{Name: "e2e-worker", Dest: "127.0.0.1:1"}); err == nil ||
		!strings.Contains(err.Error(), `worker name "e2e-worker" is registered by another token`) {
		t.Errorf("ping of e2e-worker with another write token: %v", err)
	}
	if r := m.util(t, "worker", "info", w.adminAddr); r.code == 0 || !strings.Contains(r.stderr, "is an address, and the manager calls registered workers only") {
		t.Errorf("util worker info <address>: %d %s", r.code, r.stderr)
	}
	// An admin token in the worker's config makes the local CLI an admin one.
	setToken(t, w, m.createToken(t, "admin"))
	if r := w.cli(t, "pause", "--index", "1"); r.code != 0 {
		t.Errorf("local pause with an admin token: %d %s", r.code, r.stderr)
	}
}

// A worker without a token is refused by a manager with auth, at start-up and with the key to
// set, unless the manager accepts tokenless workers (a cluster moving to auth).
func TestAuthTokenlessWorker(t *testing.T) {
	m := startAuthManager(t)
	w := newWorkerSetup(t, m.addr, 1)
	r := run(t, bin("venus-worker"), "daemon", "-c", w.cfg)
	want := "Error: the sector manager at http://" + m.addr + "/rpc/v0 requires a token: set sector_manager.rpc_client.token"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("tokenless worker: exit %d, stderr:\n%s\nwant %s", r.code, tail(r.stderr, 2000), want)
	}

	mixed := startAuthManager(t, "--allow-workers-without-token")
	w = newWorkerSetup(t, mixed.addr, 1)
	startWorker(t, w)
	waitFor(t, "a sector sealed by a tokenless worker", 30*time.Second, func() bool {
		return len(finishedSector.FindAllString(mixed.util(t, "sealer", "sectors", "list", "--offline").stdout, -1)) >= 1
	})
	// Its admin api is open (it has no token), as the original's.
	if list := threads(t, adminClient(t, w)); len(list) != 1 {
		t.Errorf("the tokenless worker's admin api lists %d threads, want 1", len(list))
	}
}

// A worker without a token refuses to serve its admin api beyond loopback unless told so.
func TestAuthLoopbackRule(t *testing.T) {
	w := newWorkerSetup(t, "127.0.0.1:1", 1) // start-up stops before the manager is dialled
	raw, _ := os.ReadFile(w.cfg)
	os.WriteFile(w.cfg, []byte(strings.Replace(string(raw), `rpc_server.host = "127.0.0.1"`, `rpc_server.host = "0.0.0.0"`, 1)), 0o644)
	r := run(t, bin("venus-worker"), "daemon", "-c", w.cfg)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if r.code != 1 || !strings.HasPrefix(last, "Error: the admin api would listen on 0.0.0.0:") ||
		!strings.Contains(last, "set sector_manager.rpc_client.token") || !strings.Contains(last, "set worker.rpc_server.allow_insecure = true") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestVersionFlags(t *testing.T) {
	for _, name := range []string{"venus-sector-manager", "venus-worker"} {
		r := mustRun(t, bin(name), "--version")
		if !regexp.MustCompile(`^` + name + ` version \S+\+\S+ \(proofs: (mock|ffi)\)\n$`).MatchString(r.stdout) {
			t.Errorf("%s --version = %q", name, r.stdout)
		}
	}
}

// A web page cannot drive a tokenless worker or an open mock: the review's text/plain POST from
// another origin and its cross-origin websocket are refused by both daemons, and nothing changes.
// Under auth the profiler needs an admin token.
func TestAuthBrowsersAreRefusedByBothDaemons(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startManagerProc(t, addr)
	w := newWorkerSetup(t, addr, 1)
	startWorker(t, w)
	for name, c := range map[string]struct{ url, body string }{
		"worker": {"http://" + w.adminAddr + "/", `{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":[0],"id":1}`},
		"mock":   {"http://" + addr + api.ManagerRPCPath, `{"jsonrpc":"2.0","method":"Venus.WorkerPingInfoRemove","params":["e2e-worker"],"id":1}`},
	} {
		req, _ := http.NewRequest("POST", c.url, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "http://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(string(msg), `refused: Origin "http://evil.example" is not this server's`) {
			t.Errorf("%s: cross-origin text/plain POST: %d %q", name, resp.StatusCode, msg)
		}
		ws := "ws" + strings.TrimPrefix(c.url, "http")
		if _, resp, _ := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {"http://evil.example"}}); resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: cross-origin websocket: %v", name, resp)
		}
	}
	if th := threads(t, adminClient(t, w)); th[0].Paused {
		t.Error("the refused request paused the worker's thread")
	}

	m := startAuthManager(t)
	admin, _ := os.ReadFile(filepath.Join(m.home, "token"))
	for token, want := range map[string]int{"": 401, m.createToken(t, "write"): 403, strings.TrimSpace(string(admin)): 200} {
		req, _ := http.NewRequest("GET", "http://"+m.addr+"/debug/pprof/cmdline", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("pprof with token %.10q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}
