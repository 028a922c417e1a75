package config

import (
	"strings"
	"testing"
)

const testToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiXX0.a2dV0UrA0kX6qMxjUfdyJZUwmw8W-rDDjES_OWZDB94"

func withAdmin(host string, extra string) string {
	s := "[worker]\n"
	if host != "-" {
		s += "rpc_server.host = \"" + host + "\"\n"
	}
	return s + extra + minimal
}

func TestTokenKeys(t *testing.T) {
	cfg := mustParse(t, minimal)
	if cfg.SectorManager.Token != "" || cfg.Worker.RPCServerAllowInsecure {
		t.Errorf("defaults: token %q, allow_insecure %v", cfg.SectorManager.Token, cfg.Worker.RPCServerAllowInsecure)
	}
	cfg = mustParse(t, `
[worker]
rpc_server.allow_insecure = true
[sector_manager]
rpc_client.addr = "/ip4/127.0.0.1/tcp/1789"
rpc_client.token = "  `+testToken+`\n"
[[sealing_thread]]
location = "/data/store1"
`)
	if cfg.SectorManager.Token != testToken || !cfg.Worker.RPCServerAllowInsecure {
		t.Errorf("token %q, allow_insecure %v", cfg.SectorManager.Token, cfg.Worker.RPCServerAllowInsecure)
	}
	if len(cfg.UnknownKeys) != 0 {
		t.Errorf("unknown keys: %v", cfg.UnknownKeys)
	}

	_, err := Parse([]byte(strings.Replace(minimal, "tcp/1789\"", "tcp/1789\"\nrpc_client.token = \"secret\"", 1)))
	if err == nil || !strings.HasPrefix(err.Error(), "sector_manager.rpc_client.token: not a token: want what `venus-sector-manager auth create-token --perm write` prints") {
		t.Errorf("a token that is not a JWT: %v", err)
	}
}

// The loopback rule: without a token, the admin api may listen only on a loopback address,
// unless allow_insecure says so.
func TestCheckAdminExposure(t *testing.T) {
	for _, c := range []struct {
		host, extra string
		wantErr     string // "" for no error
	}{
		{"127.0.0.1", "", ""},
		{"127.0.0.53", "", ""},
		{"::1", "", ""},
		{"localhost", "", ""},
		{"-", "", "the admin api would listen on 0.0.0.0:17890 (worker.rpc_server.host is not set, which listens on 0.0.0.0) without a token"},
		{"0.0.0.0", "", `the admin api would listen on 0.0.0.0:17890 (worker.rpc_server.host = "0.0.0.0") without a token`},
		{"::", "", `worker.rpc_server.host = "::"`},
		{"10.0.0.5", "", `worker.rpc_server.host = "10.0.0.5"`},
		{"worker1.example", "", `worker.rpc_server.host = "worker1.example"`},
		{"0.0.0.0", "rpc_server.allow_insecure = true\n", ""},
		{"-", "rpc_server.allow_insecure = true\n", ""},
		{"0.0.0.0", "rpc_server.allow_insecure = false\n", "without a token"},
	} {
		cfg := mustParse(t, withAdmin(c.host, c.extra))
		err := cfg.CheckAdminExposure()
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("host %q %q: %v", c.host, c.extra, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) ||
			!strings.Contains(err.Error(), "set sector_manager.rpc_client.token") ||
			!strings.Contains(err.Error(), "set worker.rpc_server.allow_insecure = true") {
			t.Errorf("host %q %q: %v\nwant %q and both keys", c.host, c.extra, err, c.wantErr)
		}
	}
	// A token makes any host fine: every caller is checked.
	cfg := mustParse(t, withAdmin("0.0.0.0", ""))
	cfg.SectorManager.Token = testToken
	if err := cfg.CheckAdminExposure(); err != nil {
		t.Errorf("with a token: %v", err)
	}
}
