package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/gorilla/websocket"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

func guarded(t *testing.T, hosts ...string) *httptest.Server {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })
	srv := httptest.NewServer(&api.BrowserGuard{Next: next, Hosts: hosts})
	t.Cleanup(srv.Close)
	return srv
}

type guardCase struct {
	name, method, host, origin, contentType string
	status                                  int
	body                                    string
}

func (c guardCase) do(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(c.method, url, strings.NewReader(`{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":[0],"id":1}`))
	if c.host != "" {
		req.Host = c.host
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSuffix(string(raw), "\n")
}

// What a web page can make a browser send is refused, with a line that says why; what the
// daemons' clients send is served.
func TestBrowserGuard(t *testing.T) {
	srv := guarded(t, "manager.lan")
	self := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(self)
	hostname, _ := os.Hostname()
	cases := []guardCase{
		{"go-jsonrpc POST", "POST", "", "", "application/json", 200, "served"},
		{"charset parameter", "POST", "", "", "application/json; charset=utf-8", 200, "served"},
		{"GET without a type", "GET", "", "", "", 200, "served"},
		{"same origin", "POST", "", "http://" + self, "application/json", 200, "served"},
		{"localhost", "POST", "localhost:" + port, "", "application/json", 200, "served"},
		{"a .localhost name", "GET", "app.localhost:" + port, "", "", 200, "served"},
		{"IPv6 loopback", "GET", "[::1]:" + port, "", "", 200, "served"},
		{"LAN IP", "GET", "192.168.1.20:" + port, "", "", 200, "served"},
		{"host name", "GET", hostname + ":" + port, "", "", 200, "served"},
		{"configured name", "GET", "Manager.LAN:" + port, "", "", 200, "served"},

		{"text/plain from a page", "POST", "", "http://evil.example", "text/plain", 403,
			`refused: Origin "http://evil.example" is not this server's (http://` + self + `): requests of web pages from other origins are not served`},
		{"text/plain without Origin", "POST", "", "", "text/plain", 415,
			`refused: a POST needs "Content-Type: application/json", not "text/plain"`},
		{"form POST", "POST", "", "", "application/x-www-form-urlencoded", 415,
			`refused: a POST needs "Content-Type: application/json", not "application/x-www-form-urlencoded"`},
		{"POST without a type", "POST", "", "", "", 415, `refused: a POST needs "Content-Type: application/json", not ""`},
		{"null origin", "POST", "", "null", "application/json", 403,
			`refused: Origin "null" is not this server's (http://` + self + `): requests of web pages from other origins are not served`},
		{"other port on the same host", "POST", "", "http://127.0.0.1:1", "application/json", 403,
			`refused: Origin "http://127.0.0.1:1" is not this server's (http://` + self + `): requests of web pages from other origins are not served`},
		{"DNS rebinding", "POST", "evil.example:" + port, "http://evil.example:" + port, "application/json", 403,
			`refused: Host "evil.example:` + port + `" is not a name of this server: reach it by IP address, localhost or its host name (other names are refused, against DNS rebinding)`},
		{"rebinding GET", "GET", "evil.example", "", "", 403,
			`refused: Host "evil.example" is not a name of this server: reach it by IP address, localhost or its host name (other names are refused, against DNS rebinding)`},
	}
	for _, c := range cases {
		if status, body := c.do(t, srv.URL); status != c.status || body != c.body {
			t.Errorf("%s: %d %q\nwant %d %q", c.name, status, body, c.status, c.body)
		}
	}
}

// A websocket upgrade from a page of another origin gets 403; a client that sends no Origin (or
// the server's own) gets its session.
func TestBrowserGuardWebsocket(t *testing.T) {
	next := jsonrpc.NewServer()
	next.Register(api.WorkerNamespace, &struct{}{})
	srv := httptest.NewServer(&api.BrowserGuard{Next: next})
	t.Cleanup(srv.Close)
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	for origin, want := range map[string]int{"": 101, srv.URL: 101, "http://evil.example": 403} {
		var h http.Header
		if origin != "" {
			h = http.Header{"Origin": {origin}}
		}
		conn, resp, err := websocket.DefaultDialer.Dial(ws, h)
		if conn != nil {
			conn.Close()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("upgrade with Origin %q: %v, %v; want %d", origin, resp, err, want)
		}
	}
}

// countingBody counts how much of it the server pulled.
type countingBody struct {
	n    atomic.Int64
	size int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	left := b.size - b.n.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	for i := range p {
		p[i] = ' '
	}
	b.n.Add(int64(len(p)))
	return len(p), nil
}

// A caller without permission has its token checked before its body is read: a small call is
// refused naming the method, a large body is refused unread, a websocket session is refused.
func TestAuthHandlerReadsLittleWithoutPermission(t *testing.T) {
	var served atomic.Int64
	rpc := jsonrpc.NewServer()
	rpc.Register(api.ManagerNamespace, api.PermissionedManagerAPI(servedFake{&fakeManager{}}))
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		rpc.ServeHTTP(w, r)
	})
	var read atomic.Int64
	h := &api.AuthHandler{Verify: func(context.Context, string) ([]api.Permission, error) {
		return nil, errors.New("invalid token: unknown to the test")
	}, Next: counted}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = readCounter{r.Body, &read}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + api.ManagerRPCPath

	// A call of ordinary size reaches go-jsonrpc, whose refusal names the method.
	if _, err := clientWith(t, url, nil).WorkerPingInfoList(context.Background()); err == nil ||
		err.Error() != "missing permission to invoke 'WorkerPingInfoList' (need 'read')" {
		t.Errorf("small call without a token: %v", err)
	}

	// 15 MiB, with and without a Content-Length: refused, nearly all of it unread. A client that
	// sends its body at once may see the connection reset (the server closes it with the body
	// unread) instead of the answer, which one that waits for 100-continue reads.
	want := fmt.Sprintf("missing permission: no token; the request was refused before its body was read "+
		"(a caller without a permission may send at most %d bytes)\n", api.MaxBodyWithoutPermission)
	patient := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	for _, chunked := range []bool{false, true} {
		read.Store(0)
		body := &countingBody{size: 15 << 20}
		req, _ := http.NewRequest("POST", url, body)
		req.Header.Set("Content-Type", "application/json")
		client := http.DefaultClient
		if !chunked {
			req.ContentLength = body.size
			req.Header.Set("Expect", "100-continue")
			client = patient
		}
		resp, err := client.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || string(msg) != want || !resp.Close {
				t.Errorf("chunked %v: %d %q (connection closed: %v)", chunked, resp.StatusCode, msg, resp.Close)
			}
		} else if !chunked || !strings.Contains(err.Error(), "connection reset by peer") {
			t.Errorf("chunked %v: %v", chunked, err)
		}
		if n := read.Load(); n > api.MaxBodyWithoutPermission+1 {
			t.Errorf("chunked %v: the server read %d bytes of a refused body", chunked, n)
		}
		if !chunked && body.n.Load() != 0 {
			t.Errorf("the client sent %d bytes of its body before the refusal", body.n.Load())
		}
	}
	if n := served.Load(); n != 1 {
		t.Errorf("%d requests reached the rpc server, want the small call only", n)
	}

	// A websocket session needs a permission.
	ws := "ws" + strings.TrimPrefix(url, "http")
	_, resp, err := websocket.DefaultDialer.Dial(ws, api.AuthHeader("tok-forged"))
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("websocket with a refused token: %v, %v", resp, err)
	}
	msg, _ := io.ReadAll(resp.Body)
	if string(msg) != "missing permission: invalid token: unknown to the test; a websocket session needs a token with a permission\n" {
		t.Errorf("websocket refusal = %q", msg)
	}
}

type readCounter struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r readCounter) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// The verified caller's identity is the token's SHA-256, never the token; callers without a
// token have none.
func TestCallerID(t *testing.T) {
	var got atomic.Value
	h := &api.AuthHandler{
		Verify:  func(context.Context, string) ([]api.Permission, error) { return api.AllowFor(api.PermWrite), nil },
		Default: []api.Permission{api.PermWrite},
		Next:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Store(api.CallerID(r.Context())) }),
	}
	for token, want := range map[string]string{
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"":    "",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got.Load() != want {
			t.Errorf("CallerID with token %q = %q, want %q", token, got.Load(), want)
		}
	}
}

// The manager's proxy credential is every permission on a worker; other tokens keep theirs.
func TestWorkerAdminPerms(t *testing.T) {
	verify := api.WorkerAdminPerms(func(_ context.Context, token string) ([]api.Permission, error) {
		if token == "proxy" {
			return []api.Permission{api.PermWorkerAdmin}, nil
		}
		return api.AllowFor(api.PermRead), nil
	})
	if p, _ := verify(context.Background(), "proxy"); fmt.Sprint(p) != "[read write admin]" {
		t.Errorf("proxy credential = %v", p)
	}
	if p, _ := verify(context.Background(), "reader"); fmt.Sprint(p) != "[read]" {
		t.Errorf("read token = %v", p)
	}
}

// At most n connections are open at once; the next is accepted when one closes.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := api.LimitListener(inner, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close frees nothing more
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
	second.Close()
	ln.Close()
	if _, open := <-accepted; open {
		t.Error("Accept went on after Close")
	}
}
