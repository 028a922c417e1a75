package api

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

// Addr is a JSON-RPC server's address from a config file, split into its parts: the worker's
// sector_manager.rpc_client.addr and the manager's [Common.API] endpoints (Lotus, messager,
// market) are all written this way.
type Addr struct {
	Scheme string // "http" or "https"
	Host   string // IP literal or DNS name, without brackets
	Port   string // empty when the address names none
}

// ParseAddr reads a multiaddr (/ip4/127.0.0.1/tcp/1789, optionally ending in /http or /https;
// ip6, dns, dns4 and dns6 also name the host) or an http(s) or ws(s) URL (its path is dropped).
// Errors name key, the config key the address came from.
func ParseAddr(key, raw string) (Addr, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Addr{}, fmt.Errorf("%s is required: want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL such as http://127.0.0.1:1789", key)
	}
	if strings.HasPrefix(s, "/") {
		return parseMultiaddr(key, s)
	}
	return parseURL(key, s)
}

func parseMultiaddr(key, s string) (Addr, error) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return Addr{}, fmt.Errorf("%s: invalid multiaddr %q: %v", key, s, err)
	}
	addr := Addr{Scheme: "http"}
	tls := false
	for _, c := range m {
		switch c.Code() {
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
			addr.Host = c.Value()
		case ma.P_TCP:
			addr.Port = c.Value()
		case ma.P_TLS:
			tls = true
		case ma.P_HTTPS, ma.P_WSS:
			addr.Scheme = "https"
		case ma.P_HTTP, ma.P_WS:
			if tls {
				addr.Scheme = "https"
			}
		}
	}
	if addr.Host == "" {
		return Addr{}, fmt.Errorf("%s: invalid multiaddr %q: ip4 or ip6 protocol is required (or dns4/dns6 with a host name), e.g. /ip4/127.0.0.1/tcp/1789", key, s)
	}
	return addr, nil
}

func parseURL(key, s string) (Addr, error) {
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return Addr{}, fmt.Errorf("%s: invalid address %q: want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL such as http://127.0.0.1:1789", key, s)
	}
	scheme := map[string]string{"http": "http", "ws": "http", "https": "https", "wss": "https"}[u.Scheme]
	if scheme == "" {
		return Addr{}, fmt.Errorf("%s: invalid address %q: want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL such as http://127.0.0.1:1789", key, s)
	}
	return Addr{Scheme: scheme, Host: u.Hostname(), Port: u.Port()}, nil
}

// hostPort joins host and port, bracketing an IPv6 host; the port is left out when empty.
func (a Addr) hostPort(port string) string {
	if port == "" {
		if strings.Contains(a.Host, ":") {
			return "[" + a.Host + "]"
		}
		return a.Host
	}
	return net.JoinHostPort(a.Host, port)
}

// Origin is <scheme>://<host>[:<port>].
func (a Addr) Origin() string { return a.Scheme + "://" + a.hostPort(a.Port) }

// URL is the origin followed by path, e.g. /rpc/v0 for the Venus API or /rpc/v1 for Lotus.
func (a Addr) URL(path string) string { return a.Origin() + path }

// DialAddr is host:port with the scheme's default port when none is written.
func (a Addr) DialAddr() string {
	port := a.Port
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[a.Scheme]
	}
	return a.hostPort(port)
}

// WebSocketURL is the URL with the scheme's websocket form (ws for http, wss for https), for a
// server that pushes to its client over a channel (the venus-gateway's proof events).
func (a Addr) WebSocketURL(path string) string {
	scheme := "ws"
	if a.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + a.hostPort(a.Port) + path
}
