package config

import (
	"reflect"
	"sync"
)

// Live is the config the daemon reads on each use, swapped whole by Reload (SIGUSR1; the
// daemon waits its 10 s before calling Reload). Callers treat the *Config from Get as
// read-only: it may be shared with other goroutines.
type Live struct {
	dir string
	mu  sync.RWMutex
	cfg *Config
}

// NewLive holds cfg, which was loaded from dir.
func NewLive(dir string, cfg *Config) *Live {
	return &Live{dir: dir, cfg: cfg}
}

// Get returns the current config.
func (l *Live) Get() *Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// Reload re-reads and validates the file. On error the current config stays and the error
// is returned. Endpoints and stores are built at start-up, so a change to Common is kept
// in the config but only takes effect on restart; Reload warns about it.
func (l *Live) Reload() error {
	next, err := Load(l.dir)
	if err != nil {
		return err
	}
	if err := next.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	prev := l.cfg
	l.cfg = next
	l.mu.Unlock()

	if prev != nil && !reflect.DeepEqual(prev.Common, next.Common) {
		log.Warnw("Common (API endpoints, piece and persist stores) changed; the change takes effect on restart", "file", FileName)
	}
	text, err := Encode(next)
	if err != nil {
		log.Warnw("config reloaded", "file", FileName, "encodeErr", err)
		return nil
	}
	log.Infow("config reloaded", "file", FileName, "cfg", text)
	return nil
}

// LiveExtProver is Live for ext-prover.cfg.
type LiveExtProver struct {
	dir string
	mu  sync.RWMutex
	cfg *ExtProverConfig
}

// NewLiveExtProver holds cfg, which was loaded from dir.
func NewLiveExtProver(dir string, cfg *ExtProverConfig) *LiveExtProver {
	return &LiveExtProver{dir: dir, cfg: cfg}
}

// Get returns the current ext-prover config.
func (l *LiveExtProver) Get() *ExtProverConfig {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// Reload re-reads the file; on error the current config stays and the error is returned.
func (l *LiveExtProver) Reload() error {
	next, err := LoadExtProver(l.dir)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.cfg = next
	l.mu.Unlock()
	log.Infow("ext-prover config reloaded", "file", ExtProverFileName)
	return nil
}
