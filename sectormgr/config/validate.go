package config

import (
	"fmt"
	"path/filepath"
)

// Validate checks what `daemon run` cannot do without, one line naming the key and the fix.
// Load accepts a file Validate refuses (the unedited `daemon init` file, for one), so that
// `util` commands that read only Common still work while the miners are being filled in.
func (c *Config) Validate() error {
	checks := []func() error{c.validateMiners, c.validateAPI, c.validatePersistStores, c.validatePieceStores}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("%s: %w", FileName, err)
		}
	}
	return nil
}

func (c *Config) validateMiners() error {
	if len(c.Miners) == 0 {
		return fmt.Errorf("no [[Miners]] entry: add one with Actor = <the miner's actor id>")
	}
	seen := map[uint64]int{}
	for i, m := range c.Miners {
		n := i + 1
		if m.Actor == 0 {
			return fmt.Errorf("[[Miners]] #%d Actor = 0: set the miner's actor id (1000 for t01000)", n)
		}
		if first, dup := seen[uint64(m.Actor)]; dup {
			return fmt.Errorf("[[Miners]] #%d Actor = %d repeats #%d: keep one entry per miner", n, m.Actor, first)
		}
		seen[uint64(m.Actor)] = n
		if err := validateMiner(m); err != nil {
			return fmt.Errorf("[[Miners]] #%d (Actor = %d) %w", n, m.Actor, err)
		}
	}
	return nil
}

func validateMiner(m MinerConfig) error {
	s := m.Sector
	if s.MinNumber != nil && s.MaxNumber != nil && *s.MinNumber > *s.MaxNumber {
		return fmt.Errorf("Sector.MinNumber = %d is above Sector.MaxNumber = %d: swap or fix them", *s.MinNumber, *s.MaxNumber)
	}
	if s.Enabled {
		if !m.Commitment.Pre.Sender.IsSet() {
			return fmt.Errorf("Commitment.Pre.Sender is not set: set it to the wallet that sends pre-commits (or set Sector.Enabled = false)")
		}
		if !m.Commitment.Prove.Sender.IsSet() {
			return fmt.Errorf("Commitment.Prove.Sender is not set: set it to the wallet that sends proofs (or set Sector.Enabled = false)")
		}
	}
	if m.SnapUp.Enabled && !m.SnapUp.Sender.IsSet() {
		return fmt.Errorf("SnapUp.Sender is not set: set it to the wallet that sends replica updates (or set SnapUp.Enabled = false)")
	}
	if m.SnapUp.Retry.PollInterval <= 0 {
		return fmt.Errorf("SnapUp.Retry.PollInterval = %q: it must be above 0, e.g. \"3m0s\"", m.SnapUp.Retry.PollInterval)
	}
	policies := []struct {
		name   string
		policy CommitmentPolicy
	}{
		{"Pre", m.Commitment.Pre}, {"Prove", m.Commitment.Prove}, {"Terminate", m.Commitment.Terminate},
	}
	for _, p := range policies {
		if err := validateBatch("Commitment."+p.name+".Batch", p.policy.Batch); err != nil {
			return err
		}
	}
	return nil
}

func validateBatch(key string, b BatchConfig) error {
	if b.Threshold < 1 {
		return fmt.Errorf("%s.Threshold = %d: it must be at least 1", key, b.Threshold)
	}
	if b.CheckInterval <= 0 {
		return fmt.Errorf("%s.CheckInterval = %q: it must be above 0, e.g. \"1m0s\"", key, b.CheckInterval)
	}
	return nil
}

func (c *Config) validateAPI() error {
	if c.Common.API.Chain == "" {
		return fmt.Errorf("Common.API.Chain is empty: set it to the full node's API, e.g. \"/ip4/127.0.0.1/tcp/1234\" or \"<token>:/ip4/127.0.0.1/tcp/1234\"")
	}
	if c.Common.API.ChainEventInterval <= 0 {
		return fmt.Errorf("Common.API.ChainEventInterval = %q: it must be above 0, e.g. \"1m0s\"", c.Common.API.ChainEventInterval)
	}
	return nil
}

// validatePersistStores refuses an empty Path: the original read it as the working
// directory, which is where the unedited init file would have put sealed sectors.
func (c *Config) validatePersistStores() error {
	names := map[string]int{}
	for i, s := range c.Common.PersistStores {
		n := i + 1
		if s.Path == "" {
			return fmt.Errorf("[[Common.PersistStores]] #%d Path is empty: set it to the store's directory, or remove the entry", n)
		}
		abs, err := filepath.Abs(s.Path)
		if err != nil {
			return fmt.Errorf("[[Common.PersistStores]] #%d Path = %q: cannot make it absolute: %v", n, s.Path, err)
		}
		name := s.Name
		if name == "" {
			name = abs
		}
		if first, dup := names[name]; dup {
			return fmt.Errorf("[[Common.PersistStores]] #%d name %q repeats #%d: give each store its own Name", n, name, first)
		}
		names[name] = n
	}
	return nil
}

func (c *Config) validatePieceStores() error {
	for i, s := range c.Common.PieceStores {
		if s.Path == "" && s.Plugin == "" {
			return fmt.Errorf("[[Common.PieceStores]] #%d Path is empty: set it to the directory of the piece files, or remove the entry", i+1)
		}
	}
	return nil
}
