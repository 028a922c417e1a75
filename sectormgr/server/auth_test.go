package server_test

import (
	"context"
	"encoding/json"
	"io"
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
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/dashboard"
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
func (f *fakeThreads) SetDrained(bool) (bool, error)        { return true, nil }
func (f *fakeThreads) Progress() []api.ThreadProgress       { return nil }

// The proxy path: util worker pause goes to the manager with an operator's admin token; the
// manager calls the registered worker with its worker-admin credential, which the worker has the
// manager verify. That credential is all a worker host ever sees, and the manager refuses it.
func TestProxyCarriesTheWorkerAdminCredential(t *testing.T) {
	tk := newTokens(t)
	addr, m := startServer(t, server.WithAuth(tk.a.Verify))
	ctx := context.Background()
	proxyToken, _ := tk.a.CreateToken([]api.Permission{api.PermWorkerAdmin})

	// The worker: its token is a write token; it asks the manager about the tokens it receives,
	// and records the ones it is sent.
	wc := tokenClient(t, addr, tk.write)
	threads := &fakeThreads{}
	var seen sync.Map
	verify := admin.NewVerifier(wc.AuthVerify, addr, tk.write, api.AllowFor(api.PermWrite)).Verify
	handler := admin.NewHandlerWithAuth(threads, verify)
	w := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"), true)
		handler.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.Close)
	dest := strings.TrimPrefix(w.URL, "http://")
	if err := wc.WorkerPing(ctx, api.WorkerInfo{Name: "w1", Dest: dest}); err != nil {
		t.Fatal(err)
	}

	op := tokenClient(t, addr, tk.admin)
	// Before the manager has its credential, the worker refuses the call, and the operator learns why.
	_, err := op.WorkerAdminPause(ctx, "w1", 0)
	want := `worker "w1" at ` + dest + `: missing permission to invoke 'WorkerPause' (need 'admin')`
	if err == nil || err.Error() != want || !api.IsPermissionDenied(err) {
		t.Errorf("pause without the manager's credential = %v\nwant %s", err, want)
	}

	m.SetWorkerToken(proxyToken)
	if ok, err := op.WorkerAdminPause(ctx, "w1", 0); err != nil || !ok {
		t.Fatalf("pause through the manager = %v, %v", ok, err)
	}
	if list, err := op.WorkerAdminList(ctx, "w1"); err != nil || len(list) != 1 {
		t.Errorf("list through the manager = %v, %v", list, err)
	}
	// The worker never saw the operator's admin token, only the credential.
	if _, ok := seen.Load("Bearer " + tk.admin); ok {
		t.Error("the manager sent an admin token to the worker")
	}
	if _, ok := seen.Load("Bearer " + proxyToken); !ok {
		t.Error("the worker did not receive the worker-admin credential")
	}
	// Every proxy method needs admin: a read or write token may not even list.
	for _, tok := range []string{tk.read, tk.write} {
		c := tokenClient(t, addr, tok)
		if _, err := c.WorkerAdminList(ctx, "w1"); err == nil || err.Error() != "missing permission to invoke 'WorkerAdminList' (need 'admin')" {
			t.Errorf("list with a non-admin token = %v", err)
		}
		if _, err := c.WorkerResolveDest(ctx, "w1"); err == nil || err.Error() != "missing permission to invoke 'WorkerResolveDest' (need 'admin')" {
			t.Errorf("resolve with a non-admin token = %v", err)
		}
		if _, err := c.WorkerAdminPause(ctx, "w1", 0); err == nil || err.Error() != "missing permission to invoke 'WorkerAdminPause' (need 'admin')" {
			t.Errorf("pause with a non-admin token = %v", err)
		}
	}
	// An address is not a worker: the manager calls nothing the caller names.
	if _, err := op.WorkerAdminPause(ctx, dest, 0); err == nil || !strings.Contains(err.Error(), "is an address, and the manager calls registered workers only") {
		t.Errorf("pause by address = %v", err)
	}
	threads.mu.Lock()
	defer threads.mu.Unlock()
	if !reflect.DeepEqual(threads.paused, []uint64{0}) {
		t.Errorf("paused = %v, want exactly one pause of thread 0", threads.paused)
	}
}

// The worker-admin credential opens a worker's admin api and nothing of the manager's: a worker
// host that leaks it cannot act on the cluster.
func TestWorkerAdminCredentialIsRefusedByTheManager(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify))
	proxyToken, _ := tk.a.CreateToken([]api.Permission{api.PermWorkerAdmin})
	it := reflect.TypeOf((*api.ServedManagerAPI)(nil)).Elem()
	for i := 0; i < it.NumMethod(); i++ {
		m := it.Method(i)
		e := postAuth(t, addr, proxyToken, m.Name, zeroParams(t, m))
		want := "missing permission to invoke '" + m.Name + "' (need '" + string(api.ManagerPerm(m.Name)) + "'): this is the manager's worker-admin credential, " +
			"which workers' admin apis accept and the manager does not: use a token from `venus-sector-manager auth create-token`"
		if e == nil || e.Code != api.ErrCodePermissionDenied || e.Message != want {
			t.Errorf("%s with the worker-admin credential: %+v", m.Name, e)
		}
	}
	// What a worker asks about it: the manager vouches for it, as worker-admin only.
	if perms, err := tokenClient(t, addr, tk.write).AuthVerify(context.Background(), proxyToken); err != nil ||
		!reflect.DeepEqual(perms, []api.Permission{api.PermWorkerAdmin}) {
		t.Errorf("AuthVerify(worker-admin credential) = %v, %v", perms, err)
	}
	// The profiler refuses it too.
	if status, _ := getWith(t, "http://"+addr+"/debug/pprof/cmdline", proxyToken); status != http.StatusUnauthorized {
		t.Errorf("pprof with the worker-admin credential: %d", status)
	}
}

func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Under auth the profiler needs an admin token (its cmdline is the daemon's argv); an open
// manager serves it to all, like every other call.
func TestPprofNeedsAdmin(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify))
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
		for _, c := range []struct {
			token  string
			status int
			body   string
		}{
			{"", 401, "the profiler needs an admin token (Authorization: Bearer <token>): none was sent\n"},
			{tk.read, 403, "the profiler needs an admin token (Authorization: Bearer <token>): the token allows [read]\n"},
			{tk.write, 403, "the profiler needs an admin token (Authorization: Bearer <token>): the token allows [read write]\n"},
			{tk.other, 401, "the profiler needs an admin token (Authorization: Bearer <token>): invalid token: signature does not match this manager's secret " +
				"(a token of another manager, or of a secret that was replaced; create one with `venus-sector-manager auth create-token`)\n"},
			{tk.admin, 200, ""},
		} {
			status, body := getWith(t, "http://"+addr+path, c.token)
			if status != c.status || (c.body != "" && body != c.body) {
				t.Errorf("%s with token %.12q: %d %q\nwant %d %q", path, c.token, status, body, c.status, c.body)
			}
		}
	}
	// The token goes in the header: a URL parameter is not looked at.
	if status, _ := getWith(t, "http://"+addr+"/debug/pprof/cmdline?token="+tk.admin, ""); status != 401 {
		t.Errorf("pprof with ?token=: %d", status)
	}
	open, _ := startServer(t)
	if status, _ := getWith(t, "http://"+open+"/debug/pprof/cmdline", ""); status != 200 {
		t.Errorf("pprof of an open manager: %d", status)
	}
}

// Under auth the piece store (deal payloads) needs a token of at least read, checked before the
// handler runs; a manager that lets tokenless workers seal lets them fetch pieces too, and an
// open manager serves everyone.
func TestPieceStoreNeedsARead(t *testing.T) {
	tk := newTokens(t)
	pieces := server.WithHandler("/piecestore/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "payload")
	}))
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify), pieces)
	const need = "/piecestore/ needs a read token (Authorization: Bearer <token>)"
	for _, c := range []struct {
		token  string
		status int
		body   string
	}{
		{"", 401, need + ": none was sent\n"},
		{tk.other, 401, need + ": invalid token: signature does not match this manager's secret " +
			"(a token of another manager, or of a secret that was replaced; create one with `venus-sector-manager auth create-token`)\n"},
		{tk.read, 200, "payload"},
		{tk.write, 200, "payload"},
		{tk.admin, 200, "payload"},
	} {
		if status, body := getWith(t, "http://"+addr+"/piecestore/baga", c.token); status != c.status || body != c.body {
			t.Errorf("piece store with token %.12q: %d %q\nwant %d %q", c.token, status, body, c.status, c.body)
		}
	}
	tokenless, _ := startServer(t, server.WithAuth(tk.a.Verify, api.PermWrite), pieces)
	if status, body := getWith(t, "http://"+tokenless+"/piecestore/baga", ""); status != 200 || body != "payload" {
		t.Errorf("piece store of a manager that allows tokenless workers: %d %q", status, body)
	}
	open, _ := startServer(t, pieces)
	if status, body := getWith(t, "http://"+open+"/piecestore/baga", ""); status != 200 || body != "payload" {
		t.Errorf("piece store of an open manager: %d %q", status, body)
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
	// A session without any permission is refused at the upgrade.
	for _, h := range []http.Header{nil, api.AuthHeader(tk.other)} {
		var client api.ManagerClient
		if closer, err := jsonrpc.NewMergeClient(ctx, "ws://"+addr+api.ManagerRPCPath, api.ManagerNamespace, []interface{}{&client}, h); err == nil {
			closer()
			t.Errorf("websocket with header %v: session opened", h)
		}
	}
}

// The dashboard page is served without a token (it holds no data, and asks the api with the
// operator's token); the api and the profiler behind it still check theirs, and the page does not
// swallow the server's other paths.
func TestPageNeedsNoTokenAndTheAPIStillDoes(t *testing.T) {
	tk := newTokens(t)
	addr, _ := startServer(t, server.WithAuth(tk.a.Verify), server.WithPage(dashboard.Handler()))
	if status, body := getWith(t, "http://"+addr+"/", ""); status != 200 || !strings.Contains(body, "<title>venus-sector-manager</title>") {
		t.Errorf("GET / without a token: %d %.80q", status, body)
	}
	if status, _ := getWith(t, "http://"+addr+"/debug/pprof/cmdline", ""); status != 401 {
		t.Errorf("pprof with a page mounted: %d", status)
	}
	if e := postAuth(t, addr, "", "WorkerPingInfoList", "[]"); e == nil || e.Message != "missing permission to invoke 'WorkerPingInfoList' (need 'read')" {
		t.Errorf("api without a token next to the page: %+v", e)
	}
	if status, _ := getWith(t, "http://"+addr+"/nothing-here", ""); status != 404 {
		t.Errorf("unknown path: %d", status)
	}
}
