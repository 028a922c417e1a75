package config

import (
	"testing"

	"github.com/filecoin-project/go-address"
)

// validConfig is the smallest config `daemon run` accepts.
func validConfig(t *testing.T) *Config {
	t.Helper()
	sender, err := address.NewIDAddress(1001)
	if err != nil {
		t.Fatal(err)
	}
	m := DefaultMinerConfig()
	m.Actor = 1000
	m.Commitment.Pre.Sender = MustAddress(sender)
	m.Commitment.Prove.Sender = MustAddress(sender)
	cfg := &Config{Common: DefaultCommonConfig(), Miners: []MinerConfig{m}}
	cfg.Common.API.Chain = "/ip4/127.0.0.1/tcp/1234"
	cfg.Common.PersistStores = []PersistStoreConfig{{Path: "/data/a"}}
	return cfg
}

func TestValidateAcceptsMinimalConfig(t *testing.T) {
	if err := validConfig(t).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRefusals(t *testing.T) {
	one, five := uint64(1), uint64(5)
	for _, c := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no miners", func(c *Config) { c.Miners = nil },
			"sector-manager.cfg: no [[Miners]] entry: add one with Actor = <the miner's actor id>"},
		{"actor 0", func(c *Config) { c.Miners = append(c.Miners, c.Miners[0]); c.Miners[1].Actor = 0 },
			"sector-manager.cfg: [[Miners]] #2 Actor = 0: set the miner's actor id (1000 for t01000)"},
		{"duplicate actor", func(c *Config) { c.Miners = append(c.Miners, c.Miners[0]) },
			"sector-manager.cfg: [[Miners]] #2 Actor = 1000 repeats #1: keep one entry per miner"},
		{"no chain", func(c *Config) { c.Common.API.Chain = "" },
			`sector-manager.cfg: Common.API.Chain is empty: set it to the full node's API, e.g. "/ip4/127.0.0.1/tcp/1234" or "<token>:/ip4/127.0.0.1/tcp/1234"`},
		{"zero chain event interval", func(c *Config) { c.Common.API.ChainEventInterval = 0 },
			`sector-manager.cfg: Common.API.ChainEventInterval = "0s": it must be above 0, e.g. "1m0s"`},
		{"empty persist path", func(c *Config) {
			c.Common.PersistStores = append(c.Common.PersistStores, PersistStoreConfig{Name: "b"})
		},
			"sector-manager.cfg: [[Common.PersistStores]] #2 Path is empty: set it to the store's directory, or remove the entry"},
		{"duplicate persist name", func(c *Config) {
			c.Common.PersistStores = append(c.Common.PersistStores, PersistStoreConfig{Path: "/data/b/../a"})
		}, `sector-manager.cfg: [[Common.PersistStores]] #2 name "/data/a" repeats #1: give each store its own Name`},
		{"empty piece path", func(c *Config) { c.Common.PieceStores = []PieceStoreConfig{{Name: "p"}} },
			"sector-manager.cfg: [[Common.PieceStores]] #1 Path is empty: set it to the directory of the piece files, or remove the entry"},
		{"threshold 0", func(c *Config) { c.Miners[0].Commitment.Prove.Batch.Threshold = 0 },
			"sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Commitment.Prove.Batch.Threshold = 0: it must be at least 1"},
		{"check interval 0", func(c *Config) { c.Miners[0].Commitment.Terminate.Batch.CheckInterval = 0 },
			`sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Commitment.Terminate.Batch.CheckInterval = "0s": it must be above 0, e.g. "1m0s"`},
		{"no pre sender", func(c *Config) { c.Miners[0].Commitment.Pre.Sender = MustAddress{} },
			"sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Commitment.Pre.Sender is not set: set it to the wallet that sends pre-commits (or set Sector.Enabled = false)"},
		{"no prove sender", func(c *Config) { c.Miners[0].Commitment.Prove.Sender = MustAddress{} },
			"sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Commitment.Prove.Sender is not set: set it to the wallet that sends proofs (or set Sector.Enabled = false)"},
		{"snapup without sender", func(c *Config) { c.Miners[0].SnapUp.Enabled = true },
			"sector-manager.cfg: [[Miners]] #1 (Actor = 1000) SnapUp.Sender is not set: set it to the wallet that sends replica updates (or set SnapUp.Enabled = false)"},
		{"min above max", func(c *Config) { c.Miners[0].Sector.MinNumber, c.Miners[0].Sector.MaxNumber = &five, &one },
			"sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Sector.MinNumber = 5 is above Sector.MaxNumber = 1: swap or fix them"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig(t)
			c.mutate(cfg)
			wantErr(t, cfg.Validate(), c.want)
		})
	}
}

func TestValidateSendersNotNeededWhenSealingDisabled(t *testing.T) {
	cfg := validConfig(t)
	cfg.Miners[0].Sector.Enabled = false
	cfg.Miners[0].Commitment.Pre.Sender = MustAddress{}
	cfg.Miners[0].Commitment.Prove.Sender = MustAddress{}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
