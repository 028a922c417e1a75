// Package registry is the manager's worker registry (spec/sector-manager.md §4.3): the latest
// ping of every worker by name, stamped with the manager's clock.
//
// A ping is a heartbeat, so the registry is soft state: it is served from memory, a worker's
// first ping (or a change of its name, address, version or token) is written through before the call
// returns, and refreshed stamps and thread counts are written in batches at most every
// flushInterval. A manager killed at the wrong moment loses at most that much of LastPing, which
// the next ping restores; it never forgets a worker.
package registry

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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
	owners    map[string]string
	dirty     map[string]bool
	lastFlush time.Time
}

// stored is a registry entry as kept in the database: the ping, and the caller the name is
// bound to (api.CallerID of its first ping with a token; absent for a tokenless worker).
type stored struct {
	api.WorkerPingInfo
	Owner string `json:",omitempty"`
}

// Option changes a Registry.
type Option func(*Registry)

// WithClock replaces time.Now as the registry's clock (tests).
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.now = now }
}

// New returns the registry kept in db.
func New(db statedb.DB, opts ...Option) *Registry {
	r := &Registry{db: db, now: time.Now, workers: map[string]api.WorkerPingInfo{}, owners: map[string]string{}, dirty: map[string]bool{}}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// MaxFieldLen bounds a ping's Name and Dest, in bytes.
const MaxFieldLen = 128

// Ping records info as the latest ping of a tokenless worker (PingFrom with no caller).
func (r *Registry) Ping(info api.WorkerInfo) error { return r.PingFrom(info, "") }

// PingFrom records info as the worker's latest ping, from caller (api.CallerID: the token it
// came with, "" for none). A name is bound to the first token that pinged with it: a ping of
// the same name with another token, or without one, is refused, so a worker's write token
// cannot take over another worker's name and have the manager's proxy call its own address
// instead. A name registered without a token is bound by its first ping with one. Remove
// releases the name.
func (r *Registry) PingFrom(info api.WorkerInfo, caller string) error {
	if err := checkField("name", info.Name); err != nil {
		return err
	}
	if err := checkField("dest", info.Dest); err != nil {
		return err
	}
	if err := checkDest(info.Dest); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return err
	}
	owner := r.owners[info.Name]
	if owner != "" && owner != caller {
		return fmt.Errorf("worker name %q is registered by another token: a name stays bound to the token of its first ping; "+
			"ping with that token, give this worker another worker.name, or remove the name (util worker remove %s)", info.Name, info.Name)
	}
	entry := api.WorkerPingInfo{Info: info, LastPing: r.now().Unix()}
	prev, known := r.workers[info.Name]
	r.workers[info.Name] = entry
	r.owners[info.Name] = caller
	r.dirty[info.Name] = true
	sameWorker := known && owner == caller && prev.Info.Dest == info.Dest && prev.Info.Version == info.Version
	if sameWorker && r.now().Sub(r.lastFlush) < flushInterval {
		return nil
	}
	return r.flush()
}

// checkField refuses a name or dest that is empty, longer than MaxFieldLen, not UTF-8, or holds
// a control character: they are printed by util worker list, where an escape sequence would
// forge rows.
func checkField(field, value string) error {
	shown := value
	if len(shown) > MaxFieldLen {
		shown = shown[:MaxFieldLen] + "…"
	}
	switch {
	case value == "":
		return fmt.Errorf("worker %s is required", field)
	case len(value) > MaxFieldLen:
		return fmt.Errorf("invalid worker %s %q: %d bytes, at most %d are accepted", field, shown, len(value), MaxFieldLen)
	case !utf8.ValidString(value):
		return fmt.Errorf("invalid worker %s %q: not UTF-8", field, shown)
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return fmt.Errorf("invalid worker %s %q: control characters are not accepted", field, shown)
	}
	return nil
}

// checkDest refuses a dest that is not host:port: the proxy calls http://<dest>/.
func checkDest(dest string) error {
	host, port, err := net.SplitHostPort(dest)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n == 0 || host == "" || strings.ContainsAny(host, "/?#@") {
		return fmt.Errorf("invalid worker dest %q: want host:port, the address of the worker's admin api", dest)
	}
	return nil
}

// load reads the stored registry once; r.mu is held.
func (r *Registry) load() error {
	if r.loaded {
		return nil
	}
	err := r.db.Scan(keyPrefix, func(key string, raw []byte) error {
		entry, err := decode(key[len(keyPrefix):], raw)
		if err != nil {
			return err
		}
		r.workers[key[len(keyPrefix):]] = entry.WorkerPingInfo
		r.owners[key[len(keyPrefix):]] = entry.Owner
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
			value, err := json.Marshal(stored{WorkerPingInfo: r.workers[name], Owner: r.owners[name]})
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
	delete(r.owners, name)
	delete(r.dirty, name)
	return nil
}

func decode(name string, raw []byte) (*stored, error) {
	var entry stored
	if err := json.Unmarshal(raw, &entry); err != nil {
		return nil, fmt.Errorf("decode ping of worker %q: %w", name, err)
	}
	return &entry, nil
}

// Since is how long ago the manager received the worker's latest ping.
func Since(p api.WorkerPingInfo, now time.Time) time.Duration {
	return now.Sub(time.Unix(p.LastPing, 0))
}

// Expired reports whether a worker has been silent for longer than expiration (strictly).
func Expired(p api.WorkerPingInfo, now time.Time, expiration time.Duration) bool {
	return Since(p, now) > expiration
}
