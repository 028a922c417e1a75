package command

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// create-token --ttl makes a token that works until it expires; then the manager refuses it with
// one line that says so.
func TestCreateTokenWithTTL(t *testing.T) {
	isolate(t)
	home := filepath.Join(t.TempDir(), "vsm")
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home)
	defer stop()
	r := runCLI("--home", home, "auth", "create-token", "--perm", "read", "--ttl", "1h")
	if r.code != 0 {
		t.Fatalf("create-token --ttl: %d %s", r.code, r.stderr)
	}
	token := strings.TrimSpace(r.stdout)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	var claims struct {
		Allow    []string
		Exp, Iat int64
		Jti      string
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Exp-claims.Iat != 3600 || time.Since(time.Unix(claims.Iat, 0)).Abs() > time.Minute || len(claims.Jti) != 32 {
		t.Errorf("claims %s: %v", raw, err)
	}
	// Every token is its own: the same permissions twice give two strings.
	if again := runCLI("--home", home, "auth", "create-token", "--perm", "read", "--ttl", "1h").stdout; strings.TrimSpace(again) == token {
		t.Error("two create-token runs printed the same token")
	}
	if r := util(t, addr, "--token", token, "worker", "list"); r.code != 0 {
		t.Errorf("a fresh --ttl token: %d %s", r.code, r.stderr)
	}

	// An expired one (signed with the same secret, exp in the past).
	secret, _ := os.ReadFile(filepath.Join(home, auth.SecretFile))
	key, _ := hex.DecodeString(strings.TrimSpace(string(secret)))
	body := base64.RawURLEncoding.EncodeToString([]byte(`{"Allow":["read"],"exp":1700000000,"iat":1690000000}`))
	signed := strings.Split(token, ".")[0] + "." + body
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	expired := signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	wantError(t, util(t, addr, "--token", expired, "worker", "list"),
		"ERROR: rpc WorkerPingInfoList: missing permission to invoke 'WorkerPingInfoList' (need 'read'): invalid token: it expired at 2023-11-14T22:13:20Z: "+
			"create a new one with `venus-sector-manager auth create-token` (token from --token; create one with the permission needed: "+
			"venus-sector-manager --home <home> auth create-token --perm <read|write|admin>)")

	for ttl, shown := range map[string]string{"0s": "0s", "-1h": "-1h0m0s"} {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"venus-sector-manager", "--home", home, "auth", "create-token", "--perm", "read", "--ttl", ttl}, io.Discard, &stderr)
		if want := "ERROR: invalid --ttl " + shown + ": want a positive duration such as 720h\n"; code != 1 || stderr.String() != want {
			t.Errorf("--ttl %s: %d %q, want %q", ttl, code, stderr.String(), want)
		}
	}
}

// util --token-file reads the token from a file, so it stays out of argv and shell history.
func TestUtilTokenFile(t *testing.T) {
	isolate(t)
	home := filepath.Join(t.TempDir(), "vsm")
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home)
	defer stop()
	read := strings.TrimSpace(runCLI("--home", home, "auth", "create-token", "--perm", "read").stdout)
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(read+"\n"), 0o600)
	if r := util(t, addr, "--token-file", file, "worker", "list"); r.code != 0 {
		t.Errorf("--token-file: %d %s", r.code, r.stderr)
	}
	wantError(t, util(t, addr, "--token-file", file, "worker", "remove", "w1"),
		"ERROR: rpc WorkerPingInfoRemove: missing permission to invoke 'WorkerPingInfoRemove' (need 'admin') "+
			"(token from --token-file "+file+"; create one with the permission needed: venus-sector-manager --home <home> auth create-token --perm <read|write|admin>)")
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	wantError(t, util(t, addr, "--token-file", empty, "worker", "list"),
		"ERROR: invalid util --token-file "+empty+": the file is empty (write a token from auth create-token into it)")
	missing := filepath.Join(t.TempDir(), "missing")
	wantError(t, util(t, addr, "--token-file", missing, "worker", "list"),
		"ERROR: invalid util --token-file: open "+missing+": no such file or directory")
	wantError(t, util(t, addr, "--token-file", file, "--token", read, "worker", "list"),
		"ERROR: util --token and --token-file both given: pass one of them")
}

// The manager's proxy sends workers a credential that allows worker-admin only, never its admin
// token, and only to a registered worker at its registered address.
func TestProxySendsTheWorkerAdminCredential(t *testing.T) {
	isolate(t)
	home := filepath.Join(t.TempDir(), "vsm")
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home)
	defer stop()
	var got atomic.Value
	w := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"jsonrpc":"2.0","id":0,"result":[]}`)
	}))
	defer w.Close()
	write := strings.TrimSpace(runCLI("--home", home, "auth", "create-token", "--perm", "write").stdout)
	ping(t, newTokenClient(t, addr, write), api.WorkerInfo{Name: "w1", Dest: strings.TrimPrefix(w.URL, "http://")})

	runCLI("--home", home, "util", "--listen", addr, "worker", "info", "w1")
	sent, _ := got.Load().(string)
	token, found := strings.CutPrefix(sent, "Bearer ")
	admin, _, _ := auth.ReadTokenFile(home)
	if !found || token == admin {
		t.Fatalf("the worker received Authorization %q", sent)
	}
	a, _ := auth.LoadHome(home)
	if perms, err := a.Verify(context.Background(), token); err != nil || !reflect.DeepEqual(perms, []api.Permission{api.PermWorkerAdmin}) {
		t.Errorf("the proxy's credential allows %v, %v; want [worker-admin]", perms, err)
	}
	// Replayed against the manager, it opens nothing.
	if _, err := newTokenClient(t, addr, token).WorkerPingInfoList(context.Background()); !api.IsPermissionDenied(err) ||
		!strings.Contains(err.Error(), "this is the manager's worker-admin credential") {
		t.Errorf("the credential against the manager: %v", err)
	}
}
