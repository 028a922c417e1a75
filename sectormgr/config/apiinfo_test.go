package config

import "testing"

func TestParseAPIInfo(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.dGVzdA"
	for _, c := range []struct{ in, token, addr string }{
		{"/ip4/127.0.0.1/tcp/1234", "", "/ip4/127.0.0.1/tcp/1234"},
		{"/ip4/127.0.0.1/tcp/1234/http", "", "/ip4/127.0.0.1/tcp/1234/http"},
		{"http://127.0.0.1:1234/rpc/v1", "", "http://127.0.0.1:1234/rpc/v1"},
		{"ws://node.example:1234/rpc/v1", "", "ws://node.example:1234/rpc/v1"},
		{jwt + ":/ip4/127.0.0.1/tcp/1234/http", jwt, "/ip4/127.0.0.1/tcp/1234/http"},
		{jwt + ":http://127.0.0.1:1234/rpc/v1", jwt, "http://127.0.0.1:1234/rpc/v1"},
		{"abc:wss://h:443/rpc/v1", "abc", "wss://h:443/rpc/v1"},
		{"127.0.0.1:1234", "", "127.0.0.1:1234"},
		{"  " + jwt + ":/dns/lotus/tcp/1234  ", jwt, "/dns/lotus/tcp/1234"},
		{"", "", ""},
	} {
		token, addr := ParseAPIInfo(c.in)
		if token != c.token || addr != c.addr {
			t.Errorf("ParseAPIInfo(%q) = (%q, %q), want (%q, %q)", c.in, token, addr, c.token, c.addr)
		}
	}
}
