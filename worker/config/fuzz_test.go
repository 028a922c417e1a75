package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config loader: it must never panic or hang, and every
// error must say what is wrong (never an empty message).
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../assets/venus-worker.mock.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[sector_manager]\nrpc_client.addr = \"/ip4/127.0.0.1/tcp/1789\"\n[[sealing_thread]]\nlocation = \"/a\"\n[[attached]]\nlocation = \"/b\"\n"))
	f.Add([]byte("[sealing]\nseal_interval = \"1h 30m\"\nallowed_sizes = [\"2KiB\", \"64GiB\"]\nmin_deal_space = 1024\n"))
	f.Add([]byte("[processors.limitation.staggered]\npc1 = \"1min\"\n[[processors.pc1]]\nconcurrent = 0\n"))
	f.Add([]byte("[worker]\nrpc_server.port = 70000\nping_interval = \"-1s\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(cfg.Threads()) == 0 {
			t.Fatal("a config without sealing threads was accepted")
		}
		for _, th := range cfg.Threads() {
			if th.Sealing.RecoverInterval < 0 || th.Sealing.SealInterval < 0 || th.Sealing.RPCPollingInterval < 0 {
				t.Fatalf("negative interval accepted: %+v", th.Sealing)
			}
		}
	})
}

// FuzzParseDuration: humantime parsing never panics and never returns a negative duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "1min", "1h 30m", "100ms", "2days", "", "3x", "99999999999999999999h", "1h1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
