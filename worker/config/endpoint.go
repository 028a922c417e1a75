package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

const managerAddrKey = "sector_manager.rpc_client.addr"

// ManagerAddr is the sector-manager address of the config, split into its parts.
type ManagerAddr struct {
	Scheme string // "http" or "https"
	Host   string // IP literal or DNS name, without brackets
	Port   string // empty when the address names none
}

// ParseManagerAddr reads a multiaddr (/ip4/127.0.0.1/tcp/1789, optionally ending in /http or
// /https; ip6, dns, dns4 and dns6 also name the host) or an http(s) URL (http://127.0.0.1:1789;
// its path is dropped). Errors name sector_manager.rpc_client.addr.
func ParseManagerAddr(raw string) (ManagerAddr, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ManagerAddr{}, fmt.Errorf("%s is required: want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL such as http://127.0.0.1:1789", managerAddrKey)
	}
	if strings.HasPrefix(s, "/") {
		return parseManagerMultiaddr(s)
	}
	return parseManagerURL(s)
}

func parseManagerMultiaddr(s string) (ManagerAddr, error) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return ManagerAddr{}, fmt.Errorf("%s: invalid multiaddr %q: %v", managerAddrKey, s, err)
	}
	addr := ManagerAddr{Scheme: "http"}
	tls := false
	for _, c := range m {
		switch c.Code() {
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
			addr.Host = c.Value()
		case ma.P_TCP:
			addr.Port = c.Value()
		case ma.P_TLS:
			tls = true
		case ma.P_HTTPS:
			addr.Scheme = "https"
		case ma.P_HTTP:
			if tls {
				addr.Scheme = "https"
			}
		}
	}
	if addr.Host == "" {
		return ManagerAddr{}, fmt.Errorf("%s: invalid multiaddr %q: ip4 or ip6 protocol is required (or dns4/dns6 with a host name), e.g. /ip4/127.0.0.1/tcp/1789", managerAddrKey, s)
	}
	return addr, nil
}

func parseManagerURL(s string) (ManagerAddr, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ManagerAddr{}, fmt.Errorf("%s: invalid address %q: want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL such as http://127.0.0.1:1789", managerAddrKey, s)
	}
	return ManagerAddr{Scheme: u.Scheme, Host: u.Hostname(), Port: u.Port()}, nil
}

// hostPort joins host and port, bracketing an IPv6 host; the port is left out when empty.
func (a ManagerAddr) hostPort(port string) string {
	if port == "" {
		if strings.Contains(a.Host, ":") {
			return "[" + a.Host + "]"
		}
		return a.Host
	}
	return net.JoinHostPort(a.Host, port)
}

// Origin is <scheme>://<host>[:<port>], where the piece store lives.
func (a ManagerAddr) Origin() string { return a.Scheme + "://" + a.hostPort(a.Port) }

// Endpoint is <scheme>://<host>[:<port>]/rpc/v0, where the Venus.* JSON-RPC API lives.
func (a ManagerAddr) Endpoint() string { return a.Origin() + "/rpc/v0" }

// DialAddr is host:port with the scheme's default port when none is written; the daemon dials
// it to learn which local IP reaches the manager.
func (a ManagerAddr) DialAddr() string {
	port := a.Port
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[a.Scheme]
	}
	return a.hostPort(port)
}

// ManagerEndpoint derives the Venus.* JSON-RPC endpoint from sector_manager.rpc_client.addr,
// e.g. "/ip4/127.0.0.1/tcp/1789" → "http://127.0.0.1:1789/rpc/v0".
func ManagerEndpoint(raw string) (string, error) {
	a, err := ParseManagerAddr(raw)
	if err != nil {
		return "", err
	}
	return a.Endpoint(), nil
}

// ManagerOrigin derives <scheme>://<host>[:<port>] from sector_manager.rpc_client.addr.
func ManagerOrigin(raw string) (string, error) {
	a, err := ParseManagerAddr(raw)
	if err != nil {
		return "", err
	}
	return a.Origin(), nil
}
