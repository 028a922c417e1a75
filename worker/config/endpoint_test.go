package config

import (
	"github.com/ipfs-force-community/venus-cluster-go/api"

	"strings"
	"testing"
)

func TestManagerEndpoint(t *testing.T) {
	cases := []struct{ raw, endpoint, origin, dial string }{
		{"/ip4/127.0.0.1/tcp/1789", "http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789", "127.0.0.1:1789"},
		{"/ip4/127.0.0.1/tcp/1789/http", "http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789", "127.0.0.1:1789"},
		{"/ip4/10.0.0.2/tcp/443/https", "https://10.0.0.2:443/rpc/v0", "https://10.0.0.2:443", "10.0.0.2:443"},
		{"/ip4/10.0.0.2/tcp/8443/tls/http", "https://10.0.0.2:8443/rpc/v0", "https://10.0.0.2:8443", "10.0.0.2:8443"},
		{"/ip6/::1/tcp/1789", "http://[::1]:1789/rpc/v0", "http://[::1]:1789", "[::1]:1789"},
		{"/dns4/manager.local/tcp/1789", "http://manager.local:1789/rpc/v0", "http://manager.local:1789", "manager.local:1789"},
		{"ws://127.0.0.1:1234/rpc/v1", "http://127.0.0.1:1234/rpc/v0", "http://127.0.0.1:1234", "127.0.0.1:1234"},
		{"/ip4/127.0.0.1/tcp/1234/ws", "http://127.0.0.1:1234/rpc/v0", "http://127.0.0.1:1234", "127.0.0.1:1234"},
		{"/dns6/manager.local/tcp/1789/https", "https://manager.local:1789/rpc/v0", "https://manager.local:1789", "manager.local:1789"},
		{"/ip4/127.0.0.1", "http://127.0.0.1/rpc/v0", "http://127.0.0.1", "127.0.0.1:80"},
		{"http://127.0.0.1:1789", "http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789", "127.0.0.1:1789"},
		{"http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789", "127.0.0.1:1789"},
		{"http://127.0.0.1:1789/some/path?q=1", "http://127.0.0.1:1789/rpc/v0", "http://127.0.0.1:1789", "127.0.0.1:1789"},
		{"https://manager.example.com", "https://manager.example.com/rpc/v0", "https://manager.example.com", "manager.example.com:443"},
		{"http://[::1]:1789", "http://[::1]:1789/rpc/v0", "http://[::1]:1789", "[::1]:1789"},
		{"http://[fe80::1]", "http://[fe80::1]/rpc/v0", "http://[fe80::1]", "[fe80::1]:80"},
	}
	for _, c := range cases {
		a, err := ParseManagerAddr(c.raw)
		if err != nil {
			t.Errorf("ParseManagerAddr(%q): %v", c.raw, err)
			continue
		}
		if got := a.URL(api.ManagerRPCPath); got != c.endpoint {
			t.Errorf("Endpoint(%q) = %q, want %q", c.raw, got, c.endpoint)
		}
		if got := a.Origin(); got != c.origin {
			t.Errorf("Origin(%q) = %q, want %q", c.raw, got, c.origin)
		}
		if got := a.DialAddr(); got != c.dial {
			t.Errorf("DialAddr(%q) = %q, want %q", c.raw, got, c.dial)
		}
		if got, _ := ManagerEndpoint(c.raw); got != c.endpoint {
			t.Errorf("ManagerEndpoint(%q) = %q, want %q", c.raw, got, c.endpoint)
		}
		if got, _ := ManagerOrigin(c.raw); got != c.origin {
			t.Errorf("ManagerOrigin(%q) = %q, want %q", c.raw, got, c.origin)
		}
	}
}

func TestManagerEndpointErrors(t *testing.T) {
	cases := []struct{ raw, wantInErr string }{
		{"/tcp/1789", "ip4 or ip6 protocol is required"},
		{"/tcp/1789/http", "ip4 or ip6 protocol is required"},
		{"/ip4/999.0.0.1/tcp/1789", "invalid multiaddr"},
		{"", "is required"},
		{"127.0.0.1:1789", "want a multiaddr such as /ip4/127.0.0.1/tcp/1789 or a URL"},
		{"ftp://127.0.0.1:1789", "invalid address"},
		{"http://", "invalid address"},
	}
	for _, c := range cases {
		_, err := ManagerEndpoint(c.raw)
		if err == nil {
			t.Errorf("ManagerEndpoint(%q) succeeded, want an error", c.raw)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "sector_manager.rpc_client.addr") || !strings.Contains(msg, c.wantInErr) {
			t.Errorf("ManagerEndpoint(%q) error %q: want the key and %q", c.raw, msg, c.wantInErr)
		}
		if _, err := ManagerOrigin(c.raw); err == nil {
			t.Errorf("ManagerOrigin(%q) succeeded, want an error", c.raw)
		}
	}
}
