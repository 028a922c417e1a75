package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/auth"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/worker/admin"
)

type tokens struct {
	a                         *auth.Authenticator
	read, write, admin, other string
}

func newTokens(t *testing.T) tokens {
	t.Helper()
	a, err := auth.New([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.New([]byte(strings.Repeat("o", 32)))
	tk := tokens{a: a}
	tk.read, _ = a.CreateToken(api.AllowFor(api.PermRead))
	tk.write, _ = a.CreateToken(api.AllowFor(api.PermWrite))
	tk.admin, _ = a.CreateToken(api.AllowFor(api.PermAdmin))
	tk.other, _ = other.CreateToken(api.AllowFor(api.PermAdmin))
	return tk
}

func tokenClient(t *testing.T, addr, token string) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), "http://"+addr+api.ManagerRPCPath, api.AuthHeader(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// zeroParams is a valid parameter list for method (zero values; strings name a port that refuses
// connections, so the worker proxies fail at once), so that a call reaches the permission check.
func zeroParams(t *testing.T, m reflect.Method) string {
	var params []any
	for i := 1; i < m.Type.NumIn(); i++ { // interface method: In(0) is the context
		pt := m.Type.In(i)
		if pt.Kind() == reflect.String {
			params = append(params, "127.0.0.1:1")
			continue
		}
		params = append(params, reflect.Zero(pt).Interface())
	}
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	if params == nil {
		return "[]"
	}
	return string(raw)
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func postAuth(t *testing.T, addr, token, method, params string) *rpcError {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+api.ManagerRPCPath,
		strings.NewReader(`{"jsonrpc":"2.0","method":"Venus.`+method+`","params":`+params+`,"id":1}`))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error *rpcError `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return out.Error
}

// Every Venus method, called with no token, a read, a write, an admin token and a forged one: it
// runs exactly when the token carries its permission, and is refused otherwise with the message
// that names the permission.
func TestEveryMethodWithEachToken(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify))
	callers := []struct {
		name, token, reason string
		has                 []api.Permission
	}{
		{"no token", "", "", nil},
		{"read", tk.read, "", api.AllowFor(api.PermRead)},
		{"write", tk.write, "", api.AllowFor(api.PermWrite)},
		{"admin", tk.admin, "", api.AllowFor(api.PermAdmin)},
		{"other secret", tk.other, ": invalid token: signature does not match this manager's secret", nil},
	}
	it := reflect.TypeOf((*api.ServedManagerAPI)(nil)).Elem()
	for i := 0; i < it.NumMethod(); i++ {
		m := it.Method(i)
		need := api.ManagerPerm(m.Name)
		params := zeroParams(t, m)
		for _, c := range callers {
			e := postAuth(t, addr, c.token, m.Name, params)
			if slices.Contains(c.has, need) {
				if e != nil && e.Code == api.ErrCodePermissionDenied {
					t.Errorf("%s with a %s token: refused: %s", m.Name, c.name, e.Message)
				}
				continue
			}
			want := "missing permission to invoke '" + m.Name + "' (need '" + string(need) + "')"
			if e == nil || e.Code != api.ErrCodePermissionDenied || !strings.HasPrefix(e.Message, want+c.reason) {
				t.Errorf("%s with %s: got %+v, want code %d and %q", m.Name, c.name, e, api.ErrCodePermissionDenied, want+c.reason)
			}
		}
	}
}

func TestAuthVerify(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify))
	ctx := context.Background()
	c := tokenClient(t, addr, tk.read)
	for token, want := range map[string][]api.Permission{tk.read: {"read"}, tk.write: {"read", "write"}, tk.admin: {"read", "write", "admin"}} {
		if got, err := c.AuthVerify(ctx, token); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("AuthVerify = %v, %v; want %v", got, err, want)
		}
	}
	if got, err := c.AuthVerify(ctx, tk.other); err == nil || got != nil || !strings.Contains(err.Error(), "signature does not match") {
		t.Errorf("AuthVerify(forged) = %v, %v", got, err)
	}

	// An open manager (the mock without --home) cannot verify anything, and says why.
	open, _ := startServer(t)
	if _, err := tokenClient(t, open, "").AuthVerify(ctx, tk.admin); err == nil || err.Error() != server.ErrNoAuth.Error() {
		t.Errorf("AuthVerify of an open manager = %v", err)
	}
}

// A manager told to accept tokenless workers gives a call without a token write, and nothing else.
func TestTokenlessWorkersAllowed(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify, api.PermWrite))
	ctx := context.Background()
	c := tokenClient(t, addr, "")
	if s, err := c.AllocateSector(ctx, api.AllocateSectorSpec{}); err != nil || s == nil {
		t.Errorf("tokenless AllocateSector = %v, %v", s, err)
	}
	if _, err := c.WorkerPingInfoList(ctx); !api.IsPermissionDenied(err) {
		t.Errorf("tokenless WorkerPingInfoList = %v, want refused (read)", err)
	}
	if _, err := tokenClient(t, addr, tk.other).AllocateSector(ctx, api.AllocateSectorSpec{}); !api.IsPermissionDenied(err) {
		t.Errorf("AllocateSector with a forged token = %v, want refused", err)
	}
}

type fakeThreads struct {
	mu     sync.Mutex
	paused []uint64
}

func (f *fakeThreads) List() []api.WorkerThreadInfo {
	return []api.WorkerThreadInfo{{Location: "/s1", State: "Empty"}}
}
func (f *fakeThreads) Pause(i uint64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = append(f.paused, i)
	return true, nil
}
func (f *fakeThreads) Resume(uint64, *string) (bool, error) { return true, nil }

// The proxy path: util worker pause goes to the manager with an operator's token; the manager
// calls the worker with its own token, which the worker has the manager verify.
func TestProxyCarriesTheManagersToken(t *testing.T) {
	tk := newTokens(t)
	addr, m := startServer(t, server.WithAuth(tk.a.Verify))
	ctx := context.Background()

	// The worker: its token is a write token; it asks the manager about the tokens it receives.
	wc := tokenClient(t, addr, tk.write)
	threads := &fakeThreads{}
	w := httptest.NewServer(admin.NewHandlerWithAuth(threads, admin.NewVerifier(wc.AuthVerify, addr, tk.write, api.AllowFor(api.PermWrite)).Verify))
	t.Cleanup(w.Close)
	dest := strings.TrimPrefix(w.URL, "http://")

	op := tokenClient(t, addr, tk.admin)
	// Before the manager has its token, the worker refuses it, and the operator learns why.
	_, err := op.WorkerAdminPause(ctx, dest, 0)
	want := `worker "` + dest + `" at ` + dest + `: missing permission to invoke 'WorkerPause' (need 'admin')`
	if err == nil || err.Error() != want || !api.IsPermissionDenied(err) {
		t.Errorf("pause without the manager's token = %v\nwant %s", err, want)
	}

	m.SetWorkerToken(tk.admin)
	if ok, err := op.WorkerAdminPause(ctx, dest, 0); err != nil || !ok {
		t.Fatalf("pause through the manager = %v, %v", ok, err)
	}
	// A read token may list a worker's threads through the manager, not pause them.
	reader := tokenClient(t, addr, tk.read)
	if list, err := reader.WorkerAdminList(ctx, dest); err != nil || len(list) != 1 {
		t.Errorf("list with a read token = %v, %v", list, err)
	}
	if _, err := reader.WorkerAdminPause(ctx, dest, 0); err == nil || err.Error() != "missing permission to invoke 'WorkerAdminPause' (need 'admin')" {
		t.Errorf("pause with a read token = %v", err)
	}
	threads.mu.Lock()
	defer threads.mu.Unlock()
	if !reflect.DeepEqual(threads.paused, []uint64{0}) {
		t.Errorf("paused = %v, want exactly one pause of thread 0", threads.paused)
	}
}

// Websocket clients (Lotus's kind) carry their token on the upgrade request; every call on the
// connection has its permissions.
func TestWebsocketCallsCarryTheToken(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify))
	ctx := context.Background()
	for _, c := range []struct {
		header http.Header
		url    string
		ok     bool
	}{
		{api.AuthHeader(tk.read), "ws://" + addr + api.ManagerRPCPath, true},
		{nil, "ws://" + addr + api.ManagerRPCPath + "?token=" + tk.read, true},
		{nil, "ws://" + addr + api.ManagerRPCPath, false},
	} {
		var client api.ManagerClient
		closer, err := jsonrpc.NewMergeClient(ctx, c.url, api.ManagerNamespace, []interface{}{&client}, c.header)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.WorkerPingInfoList(ctx)
		closer()
		if c.ok != (err == nil) || (!c.ok && !api.IsPermissionDenied(err)) {
			t.Errorf("websocket %s with header %v: %v", c.url, c.header, err)
		}
	}
}
