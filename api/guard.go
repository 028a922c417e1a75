package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
)

// BrowserGuard keeps web pages away from a daemon's HTTP API, both daemons': a page a browser
// shows can make it send requests to any address it reaches, loopback included, and a token-less
// daemon would obey. It refuses, before anything else runs:
//
//   - a request whose Host is not one of the server's names (403): an IP literal, a loopback name
//     (localhost, *.localhost), this machine's host name, or one of Hosts. A page of a name the
//     attacker controls that re-resolves to 127.0.0.1 (DNS rebinding) sends its own name.
//   - a request with an Origin header other than the server's own origin, http://<Host> (403):
//     browsers send Origin with cross-origin requests and with every websocket upgrade, so a
//     cross-origin websocket is refused too. Clients that are not browsers send none.
//   - a POST whose Content-Type is not application/json (415): a page can send a text/plain POST
//     to any address without asking the server first (CORS's "simple request"); every JSON-RPC
//     client of both daemons (go-jsonrpc, the Rust worker's jsonrpc-core-client) sends
//     application/json.
type BrowserGuard struct {
	Next http.Handler
	// Hosts are DNS names clients use to reach the server besides the ones always accepted.
	Hosts []string
}

func (g *BrowserGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, msg := g.refusal(r); status != 0 {
		http.Error(w, msg, status)
		return
	}
	g.Next.ServeHTTP(w, r)
}

func (g *BrowserGuard) refusal(r *http.Request) (status int, msg string) {
	if !g.knownHost(r.Host) {
		return http.StatusForbidden, fmt.Sprintf("refused: Host %q is not a name of this server: reach it by IP address, "+
			"localhost or its host name (other names are refused, against DNS rebinding)", r.Host)
	}
	if origins, sent := r.Header["Origin"]; sent && !sameOrigin(origins[0], r.Host) {
		return http.StatusForbidden, fmt.Sprintf("refused: Origin %q is not this server's (http://%s): "+
			"requests of web pages from other origins are not served", origins[0], r.Host)
	}
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, fmt.Sprintf("refused: a POST needs \"Content-Type: application/json\", not %q", ct)
		}
	}
	return 0, ""
}

// knownHost tells the Host headers BrowserGuard accepts (see there); an empty one is an HTTP/1.0
// client's, never a browser's.
func (g *BrowserGuard) knownHost(hostport string) bool {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	switch {
	case host == "":
		return true
	case net.ParseIP(host) != nil:
		return true
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		return true
	case host == machineName():
		return true
	}
	for _, h := range g.Hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

var machineName = sync.OnceValue(func() string {
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.ToLower(name)
})

// sameOrigin: origin is http(s)://<host> with host equal to the request's Host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || (u.Path != "" && u.Path != "/") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// LimitListener accepts at most n connections at once: when n are open, Accept waits for one to
// close (the kernel's backlog holds the newcomers meanwhile), so a flood of connections costs the
// daemon n connections' memory at most. n <= 0 means no limit.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{}
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
