// Package registry is the manager's worker registry (spec/sector-manager.md §4.3): the latest
// ping of every worker by name, stamped with the manager's clock.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const keyPrefix = "worker/"

// DefaultExpiration is when `util worker list` marks a worker that stopped pinging.
const DefaultExpiration = 10 * time.Minute

// Registry stores pings in a statedb. It is safe for concurrent use.
type Registry struct {
	db  statedb.DB
	now func() time.Time
}

// Option changes a Registry.
type Option func(*Registry)

// WithClock replaces time.Now as the registry's clock (tests).
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.now = now }
}

// New returns the registry kept in db.
func New(db statedb.DB, opts ...Option) *Registry {
	r := &Registry{db: db, now: time.Now}
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
	value, err := json.Marshal(api.WorkerPingInfo{Info: info, LastPing: r.now().Unix()})
	if err != nil {
		return fmt.Errorf("encode ping of worker %q: %w", info.Name, err)
	}
	return r.db.Update(func(tx statedb.Txn) error { return tx.Put(keyPrefix+info.Name, value) })
}

// Get returns the latest ping of a worker, or nil if it never pinged (or was removed).
func (r *Registry) Get(name string) (*api.WorkerPingInfo, error) {
	raw, err := r.db.Get(keyPrefix + name)
	if errors.Is(err, statedb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decode(name, raw)
}

// List returns every worker's latest ping, sorted by name (byte order).
func (r *Registry) List() ([]api.WorkerPingInfo, error) {
	var out []api.WorkerPingInfo
	err := r.db.Scan(keyPrefix, func(key string, raw []byte) error {
		info, err := decode(key[len(keyPrefix):], raw)
		if err != nil {
			return err
		}
		out = append(out, *info)
		return nil
	})
	return out, err
}

// Remove drops a worker from the registry.
func (r *Registry) Remove(name string) error {
	return r.db.Update(func(tx statedb.Txn) error {
		if _, err := tx.Get(keyPrefix + name); errors.Is(err, statedb.ErrNotFound) {
			return fmt.Errorf("worker info not found: no worker named %q has pinged this manager (see util worker list)", name)
		} else if err != nil {
			return err
		}
		return tx.Delete(keyPrefix + name)
	})
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
