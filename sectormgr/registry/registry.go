// Package registry is the manager's worker registry (spec/sector-manager.md §4.3): the latest
// ping of every worker by name, stamped with the manager's clock.
//
// A ping is a heartbeat, so the registry is soft state: it is served from memory, a worker's
// first ping (or a change of its name, address or version) is written through before the call
// returns, and refreshed stamps and thread counts are written in batches at most every
// flushInterval. A manager killed at the wrong moment loses at most that much of LastPing, which
// the next ping restores; it never forgets a worker.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const keyPrefix = "worker/"

// DefaultExpiration is when `util worker list` marks a worker that stopped pinging.
const DefaultExpiration = 10 * time.Minute

// flushInterval bounds how stale the stored stamps of known workers may be.
const flushInterval = 5 * time.Second

// Registry stores pings in a statedb. It is safe for concurrent use.
type Registry struct {
	db  statedb.DB
	now func() time.Time

	mu        sync.Mutex
	loaded    bool
	workers   map[string]api.WorkerPingInfo
	dirty     map[string]bool
	lastFlush time.Time
}

// Option changes a Registry.
type Option func(*Registry)

// WithClock replaces time.Now as the registry's clock (tests).
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.now = now }
}

// New returns the registry kept in db.
func New(db statedb.DB, opts ...Option) *Registry {
	r := &Registry{db: db, now: time.Now, workers: map[string]api.WorkerPingInfo{}, dirty: map[string]bool{}}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Ping records info as the worker's latest ping, overwriting the previous one; two workers with
// the same name overwrite each other.
func (r *Registry) Ping(info api.WorkerInfo) error {
	if info.Name == "" {
		return errors.New("worker name is required")
	}
	if info.Dest == "" {
		return errors.New("worker dest is required")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return err
	}
	entry := api.WorkerPingInfo{Info: info, LastPing: r.now().Unix()}
	prev, known := r.workers[info.Name]
	r.workers[info.Name] = entry
	r.dirty[info.Name] = true
	sameWorker := known && prev.Info.Dest == info.Dest && prev.Info.Version == info.Version
	if sameWorker && r.now().Sub(r.lastFlush) < flushInterval {
		return nil
	}
	return r.flush()
}

// load reads the stored registry once; r.mu is held.
func (r *Registry) load() error {
	if r.loaded {
		return nil
	}
	err := r.db.Scan(keyPrefix, func(key string, raw []byte) error {
		info, err := decode(key[len(keyPrefix):], raw)
		if err != nil {
			return err
		}
		r.workers[key[len(keyPrefix):]] = *info
		return nil
	})
	if err != nil {
		return fmt.Errorf("load worker registry: %w", err)
	}
	r.loaded, r.lastFlush = true, r.now()
	return nil
}

// flush writes every changed entry in one transaction; r.mu is held.
func (r *Registry) flush() error {
	if len(r.dirty) == 0 {
		return nil
	}
	err := r.db.Update(func(tx statedb.Txn) error {
		for name := range r.dirty {
			value, err := json.Marshal(r.workers[name])
			if err != nil {
				return fmt.Errorf("encode ping of worker %q: %w", name, err)
			}
			if err := tx.Put(keyPrefix+name, value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.dirty, r.lastFlush = map[string]bool{}, r.now()
	return nil
}

// Get returns the latest ping of a worker, or nil if it never pinged (or was removed).
func (r *Registry) Get(name string) (*api.WorkerPingInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return nil, err
	}
	info, ok := r.workers[name]
	if !ok {
		return nil, nil
	}
	return &info, nil
}

// List returns every worker's latest ping, sorted by name (byte order).
func (r *Registry) List() ([]api.WorkerPingInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return nil, err
	}
	var out []api.WorkerPingInfo
	for _, info := range r.workers {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Name < out[j].Info.Name })
	return out, nil
}

// Remove drops a worker from the registry, durably before it returns.
func (r *Registry) Remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return err
	}
	if _, ok := r.workers[name]; !ok {
		return fmt.Errorf("worker info not found: no worker named %q has pinged this manager (see util worker list)", name)
	}
	if err := r.db.Update(func(tx statedb.Txn) error { return tx.Delete(keyPrefix + name) }); err != nil {
		return err
	}
	delete(r.workers, name)
	delete(r.dirty, name)
	return nil
}

func decode(name string, raw []byte) (*api.WorkerPingInfo, error) {
	var info api.WorkerPingInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("decode ping of worker %q: %w", name, err)
	}
	return &info, nil
}

// Since is how long ago the manager received the worker's latest ping.
func Since(p api.WorkerPingInfo, now time.Time) time.Duration {
	return now.Sub(time.Unix(p.LastPing, 0))
}

// Expired reports whether a worker has been silent for longer than expiration (strictly).
func Expired(p api.WorkerPingInfo, now time.Time, expiration time.Duration) bool {
	return Since(p, now) > expiration
}
