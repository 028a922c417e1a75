package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// Errors a user can cause end in one line that names the input, and a non-zero exit.
func TestUserErrorsAreOneLine(t *testing.T) {
	_, addr := startManager(t)
	w := newWorkerSetup(t, addr, 1)
	oneLine := func(what string, r result, want string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code == 0 || !strings.HasPrefix(last, "Error: ") || !strings.Contains(last, want) || strings.Contains(r.stderr, "panic") {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant one Error line containing %q", what, r.code, r.stderr, want)
		}
	}

	// The worker is not running.
	oneLine("list without a daemon", w.cli(t, "list"), "cannot reach the worker admin api at "+w.adminAddr)
	// No config file.
	oneLine("missing config", run(t, bin("venus-worker"), "daemon", "-c", filepath.Join(w.dir, "nope.toml")), "nope.toml")
	// A bad value names its key.
	bad := filepath.Join(w.dir, "bad.toml")
	cfg, _ := os.ReadFile(w.cfg)
	os.WriteFile(bad, []byte(strings.Replace(string(cfg), `seal_interval = "100ms"`, `seal_interval = "3x"`, 1)), 0o644)
	oneLine("bad duration", run(t, bin("venus-worker"), "daemon", "-c", bad), "sealing.seal_interval")
	// The manager is down.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(dead)
	down := filepath.Join(w.dir, "down.toml")
	os.WriteFile(down, []byte(strings.Replace(string(cfg), "/ip4/"+strings.ReplaceAll(addr, ":", "/tcp/"), "/ip4/"+host+"/tcp/"+port, 1)), 0o644)
	oneLine("manager down", run(t, bin("venus-worker"), "daemon", "-c", down), "sector manager unreachable at "+dead)
	// A location that was never initialised.
	uninit := filepath.Join(w.dir, "uninit.toml")
	os.WriteFile(uninit, []byte(strings.Replace(string(cfg), w.stores[0], filepath.Join(w.dir, "nowhere"), 1)), 0o644)
	oneLine("uninitialised location", run(t, bin("venus-worker"), "daemon", "-c", uninit), "sealing-init")
}

// realManager pretends to be a manager with a real chain.
type realManager struct{ *gatedManager }

func (realManager) Version(context.Context) (string, error) {
	return "venus-sector-manager 0.4.0 (proofs: ffi)", nil
}

// The safety rule: a worker with mock proofs refuses a manager that is not a mock.
func TestMockProofsNeverReachARealManager(t *testing.T) {
	g, _ := startManager(t)
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); server.Serve(ctx, ln, server.New(realManager{g})) }()
	t.Cleanup(func() { cancel(); <-done })

	w := newWorkerSetup(t, ln.Addr().String(), 1)
	r := run(t, bin("venus-worker"), "daemon", "-c", w.cfg)
	if r.code == 0 || !strings.Contains(r.stderr, "mock proofs, which must never reach a real chain") ||
		!strings.Contains(r.stderr, `it reports "venus-sector-manager 0.4.0 (proofs: ffi)"`) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if len(g.Sectors(false))+len(g.Sectors(true)) != 0 {
		t.Error("the worker allocated a sector from a real manager")
	}
}
