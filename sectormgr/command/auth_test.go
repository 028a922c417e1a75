package command

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/auth"
	"github.com/ipfs-force-community/venus-cluster-go/version"
)

func runCLI(args ...string) cmdResult {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"venus-sector-manager"}, args...), &stdout, &stderr)
	return cmdResult{stdout.String(), stderr.String(), code}
}

func TestVersionFlag(t *testing.T) {
	r := runCLI("--version")
	if want := "venus-sector-manager version " + version.String() + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("--version: status %d stdout %q, want %q", r.code, r.stdout, want)
	}
	if !strings.Contains(r.stdout, "(proofs: "+version.ProofsBackend+")") {
		t.Errorf("--version does not name the proofs backend: %q", r.stdout)
	}
}

// isolate keeps the user's own token (home, environment) out of a test.
func isolate(t *testing.T) string {
	t.Helper()
	userHome := t.TempDir()
	t.Setenv("HOME", userHome)
	t.Setenv(auth.TokenEnv, "")
	return userHome
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

const noTokenHint = " (no token was sent: pass --token, set VENUS_SECTOR_MANAGER_TOKEN, or name the manager's home: venus-sector-manager --home <home> util ...)"

func TestMockWithHomeRequiresTokens(t *testing.T) {
	isolate(t)
	home := filepath.Join(t.TempDir(), "vsm")
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home)
	defer stop()

	for _, f := range []string{auth.SecretFile, auth.TokenFile} {
		if m := fileMode(t, filepath.Join(home, f)); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", f, m)
		}
	}

	// Without a token: refused, with the permission and where a token comes from.
	wantError(t, util(t, addr, "worker", "list"),
		"ERROR: rpc WorkerPingInfoList: missing permission to invoke 'WorkerPingInfoList' (need 'read')"+noTokenHint)

	// The admin token file of the root --home.
	if r := runCLI("--home", home, "util", "--listen", addr, "worker", "list"); r.code != 0 {
		t.Fatalf("util with --home: %d %s", r.code, r.stderr)
	}

	// auth create-token: each level, from the same home.
	tokens := map[string]string{}
	for _, perm := range []string{"read", "write", "admin"} {
		r := runCLI("--home", home, "auth", "create-token", "--perm", perm)
		if r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("create-token --perm %s: %d %q %q", perm, r.code, r.stdout, r.stderr)
		}
		tokens[perm] = strings.TrimSpace(r.stdout)
	}
	a, err := auth.LoadHome(home)
	if err != nil {
		t.Fatal(err)
	}
	for perm, want := range map[string][]api.Permission{"read": {"read"}, "write": {"read", "write"}, "admin": {"read", "write", "admin"}} {
		if got, err := a.Verify(context.Background(), tokens[perm]); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("create-token --perm %s allows %v, %v; want %v", perm, got, err, want)
		}
	}

	// --token, then the environment, then the home's token file.
	if r := util(t, addr, "--token", tokens["read"], "worker", "list"); r.code != 0 {
		t.Errorf("--token read, list: %d %s", r.code, r.stderr)
	}
	wantError(t, util(t, addr, "--token", tokens["read"], "worker", "remove", "w1"),
		"ERROR: rpc WorkerPingInfoRemove: missing permission to invoke 'WorkerPingInfoRemove' (need 'admin') "+
			"(token from --token; create one with the permission needed: venus-sector-manager --home <home> auth create-token --perm <read|write|admin>)")
	// An admin token gets through to the manager, which knows no such worker.
	if r := util(t, addr, "--token", tokens["admin"], "worker", "remove", "w1"); r.code != 1 ||
		!strings.HasPrefix(r.stderr, "ERROR: rpc WorkerPingInfoRemove: worker info not found") {
		t.Errorf("admin token, remove: %d %s", r.code, r.stderr)
	}

	t.Setenv(auth.TokenEnv, tokens["read"])
	if r := util(t, addr, "worker", "list"); r.code != 0 {
		t.Errorf("token from the environment: %d %s", r.code, r.stderr)
	}
	// The environment comes before the home: its read token cannot remove, the home's admin could.
	r := runCLI("--home", home, "util", "--listen", addr, "worker", "remove", "w1")
	if r.code != 1 || !strings.Contains(r.stderr, "(need 'admin') (token from $VENUS_SECTOR_MANAGER_TOKEN;") {
		t.Errorf("env before home: %d %s", r.code, r.stderr)
	}
	// --token comes before the environment.
	if r := util(t, addr, "--token", tokens["admin"], "worker", "remove", "w1"); !strings.HasPrefix(r.stderr, "ERROR: rpc WorkerPingInfoRemove: worker info not found") {
		t.Errorf("--token before env: %s", r.stderr)
	}
	// A forged token is refused with the reason.
	t.Setenv(auth.TokenEnv, "")
	forged := strings.Replace(tokens["admin"], ".", ".x", 1)
	r = util(t, addr, "--token", forged, "worker", "list")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR: rpc WorkerPingInfoList: missing permission to invoke 'WorkerPingInfoList' (need 'read'): invalid token: ") {
		t.Errorf("forged token: %d %s", r.code, r.stderr)
	}

	// Workers' sealing calls need write: refused without a token.
	c := newTokenClient(t, addr, "")
	if _, err := c.AllocateSector(context.Background(), api.AllocateSectorSpec{}); !api.IsPermissionDenied(err) {
		t.Errorf("tokenless AllocateSector = %v", err)
	}
	if s, err := newTokenClient(t, addr, tokens["write"]).AllocateSector(context.Background(), api.AllocateSectorSpec{}); err != nil || s == nil {
		t.Errorf("AllocateSector with a write token = %v, %v", s, err)
	}
}

func TestMockAllowsWorkersWithoutToken(t *testing.T) {
	isolate(t)
	home := t.TempDir()
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home, "--allow-workers-without-token")
	defer stop()
	c := newTokenClient(t, addr, "")
	if s, err := c.AllocateSector(context.Background(), api.AllocateSectorSpec{}); err != nil || s == nil {
		t.Errorf("tokenless AllocateSector = %v, %v", s, err)
	}
	if err := c.WorkerPing(context.Background(), api.WorkerInfo{Name: "old", Dest: "127.0.0.1:1"}); err != nil {
		t.Errorf("tokenless WorkerPing = %v", err)
	}
	// Only the workers' calls: the operator's still need a token.
	wantError(t, util(t, addr, "worker", "list"),
		"ERROR: rpc WorkerPingInfoList: missing permission to invoke 'WorkerPingInfoList' (need 'read')"+noTokenHint)
}

func TestMockWithoutHomeStaysOpen(t *testing.T) {
	userHome := isolate(t)
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0")
	defer stop()
	for _, token := range []string{"", "not-a-token"} {
		if r := util(t, addr, "--token", token, "worker", "list"); r.code != 0 {
			t.Errorf("open mock, token %q: %d %s", token, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(userHome, ".venus-sector-manager")); !os.IsNotExist(err) {
		t.Errorf("the open mock created the default home: %v", err)
	}
}

func TestCreateTokenErrors(t *testing.T) {
	isolate(t)
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--home", empty, "auth", "create-token", "--perm", "root"}, `ERROR: invalid --perm "root": want read, write or admin` + "\n"},
		{[]string{"--home", empty, "auth", "create-token", "--perm", "read"}, "ERROR: no jwt secret at " + filepath.Join(empty, auth.SecretFile) +
			": start the manager with this home once (venus-sector-manager mock --home " + empty + " ...), or pass the manager's --home\n"},
		{[]string{"auth", "create-token"}, `ERROR: Required flag "perm" not set` + "\n"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"venus-sector-manager"}, c.args...), io.Discard, &stderr)
		if code != 1 || stderr.String() != c.want {
			t.Errorf("%v: %d %q\nwant %q", c.args, code, stderr.String(), c.want)
		}
	}
}
