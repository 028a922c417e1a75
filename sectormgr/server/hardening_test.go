package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// A web page cannot drive the manager, open or not: a text/plain POST from another origin, a
// cross-origin websocket and a rebound DNS name are refused before any method runs.
func TestBrowsersAreRefused(t *testing.T) {
	addr, m := startServer(t)
	url := "http://" + addr + api.ManagerRPCPath
	remove := `{"jsonrpc":"2.0","method":"Venus.WorkerPingInfoRemove","params":["w1"],"id":1}`
	ping := func() {
		status, resp := post(t, addr, api.ManagerRPCPath, `{"jsonrpc":"2.0","method":"Venus.WorkerPing","params":[{"Name":"w1","Dest":"127.0.0.1:17890"}],"id":1}`)
		if status != 200 || resp.Error != nil {
			t.Fatalf("ping: %d %s", status, resp.Error)
		}
	}
	ping()
	for _, c := range []struct {
		name        string
		host        string
		headers     map[string]string
		status      int
		wantMessage string
	}{
		{"text/plain from a page", "", map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, 403,
			`refused: Origin "http://evil.example" is not this server's (http://` + addr + `): requests of web pages from other origins are not served`},
		{"text/plain without Origin", "", map[string]string{"Content-Type": "text/plain"}, 415,
			`refused: a POST needs "Content-Type: application/json", not "text/plain"`},
		{"DNS rebinding", "evil.example:1789", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example:1789"}, 403,
			`refused: Host "evil.example:1789" is not a name of this server: reach it by IP address, localhost or its host name (other names are refused, against DNS rebinding)`},
	} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(remove))
		if c.host != "" {
			req.Host = c.host
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(body) != c.wantMessage+"\n" {
			t.Errorf("%s: %d %q\nwant %d %q", c.name, resp.StatusCode, body, c.status, c.wantMessage)
		}
	}
	if p, _ := m.WorkerGetPingInfo(context.Background(), "w1"); p == nil {
		t.Fatal("a refused request removed the worker")
	}

	ws := "ws://" + addr + api.ManagerRPCPath
	_, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {"http://evil.example"}})
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin websocket: %v, %v; want 403", resp, err)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket of a client: %v, %v", resp, err)
	}
	conn.Close()
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, read: l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// zeros is a body of n zero bytes that costs the client no memory.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	clear(p)
	z.left -= int64(len(p))
	return len(p), nil
}

// The load of the review: eight concurrent 15 MiB POSTs without a token. Under auth the token is
// checked before the body is read, so the server reads a few KiB of each (it used to read all
// 120 MiB and grow by 600 MB), and its heap stays put.
func TestUnauthenticatedUploadsAreNotRead(t *testing.T) {
	tk := newTokens(t)
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, countingListener{inner, &read}, server.New(m, server.WithAuth(tk.a.Verify)))
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + inner.Addr().String() + api.ManagerRPCPath

	const uploads, size = 8, 15 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses := make([]string, uploads)
	for i := 0; i < uploads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", url, &zeros{left: size})
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Expect", "100-continue")
			client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
			resp, err := client.Do(req)
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			resp.Body.Close()
			statuses[i] = resp.Status
		}()
	}
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	for i, s := range statuses {
		if s != "401 Unauthorized" {
			t.Errorf("upload %d: %s", i, s)
		}
	}
	// Headers only: well under a MiB for all eight (15 MiB each was read before).
	if n := read.Load(); n > 1<<20 {
		t.Errorf("the server read %d bytes of %d unauthenticated uploads", n, uploads)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("the process allocated %d MiB while refusing the uploads", grew>>20)
	}
}

// At most WithMaxConnections connections are served at once; the next one is served when one
// closes.
func TestConnectionsAreCapped(t *testing.T) {
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.New(m), server.WithMaxConnections(1)) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()

	hog, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(hog, "GET /debug/pprof/cmdline HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if _, err := hog.Read(make([]byte, 1)); err != nil {
		t.Fatalf("the first connection is not served: %v", err)
	}
	answered := make(chan int, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{}}
		resp, err := client.Get("http://" + addr + "/debug/pprof/cmdline")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case s := <-answered:
		t.Fatalf("a second connection was served (%d) while the first was open", s)
	case <-time.After(200 * time.Millisecond):
	}
	hog.Close()
	select {
	case s := <-answered:
		if s != 200 {
			t.Fatalf("second request: %d", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second connection was not served after the first closed")
	}
}
