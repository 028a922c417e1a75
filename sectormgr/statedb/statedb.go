// Package statedb is where the manager keeps its state: the kvstore under its home (durable, one
// fsync'd transaction per change), or, for a mock started without --home, an in-memory map with
// the same semantics (ordered scans, all-or-nothing transactions) and no durability.
//
// Key spaces (one database, as spec/sector-manager.md §4.1 lays them out across several):
//
//	sector-states/m-<miner>-n-<num>          online SectorState JSON
//	sector-states-offline/m-<miner>-n-<num>  offline (finalized or aborted) SectorState JSON
//	sector-history/m-<miner>-n-<num>/<n>     SectorHistoryEntry n (zero-padded), oldest first
//	sector-history-len/m-<miner>-n-<num>     how many history entries the sector has
//	sector-number//m-<miner>                 uvarint: last number handed out
//	worker/<name>                            WorkerPingInfo JSON
package statedb

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

var log = logging.Logger("statedb")

// ErrNotFound is returned by Get for a missing key, by both implementations.
var ErrNotFound = kvstore.ErrNotFound

// Txn is a read-write transaction; its changes commit together or not at all.
type Txn interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
	Delete(key string) error
}

// DB is what the manager's stores need from a database.
type DB interface {
	Get(key string) ([]byte, error)
	// Scan calls fn for every key with prefix, in byte order of the keys. fn must not keep value,
	// and must not call Update (bbolt would deadlock).
	Scan(prefix string, fn func(key string, value []byte) error) error
	// Update runs fn in one transaction; an error from fn rolls every change back.
	Update(fn func(tx Txn) error) error
	Close() error
}

// MetaDir is the kvstore directory inside a manager home.
const MetaDir = "meta"

// OpenHome opens (creating if needed) the durable database of a manager home: <home>/meta. A
// second process on the same home fails with an error saying the store is locked.
func OpenHome(home string) (DB, error) {
	db, err := kvstore.Open(filepath.Join(home, MetaDir))
	if err != nil {
		return nil, err
	}
	return &onDisk{DB: db}, nil
}

// onDisk is the kvstore with group commit: Updates that arrive while a commit is running wait
// and then commit together, in one kvstore transaction and one fsync. A lone Update commits at
// once, so there is no added latency, and every Update still returns only once its changes are
// durable. Each Update's changes are staged apart, so one that fails is dropped alone.
type onDisk struct {
	*kvstore.DB

	mu      sync.Mutex
	queue   []*pending
	running bool
}

type pending struct {
	fn   func(tx Txn) error
	done chan error
	// lead tells a queued caller to commit the queue itself.
	lead chan struct{}
}

func (d *onDisk) Update(fn func(tx Txn) error) error {
	p := &pending{fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	d.mu.Lock()
	d.queue = append(d.queue, p)
	leader := !d.running
	d.running = true
	d.mu.Unlock()

	if !leader {
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
		}
	}
	d.commitQueue()
	return <-p.done
}

// commitQueue commits what is queued, then hands the lead to a caller that queued meanwhile, so
// no caller commits for others indefinitely.
func (d *onDisk) commitQueue() {
	d.mu.Lock()
	batch := d.queue
	d.queue = nil
	d.mu.Unlock()

	d.commit(batch)

	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		d.running = false
		return
	}
	d.queue[0].lead <- struct{}{}
}

func (d *onDisk) commit(batch []*pending) {
	results := make([]error, len(batch))
	err := d.DB.Update(func(tx *kvstore.Txn) error {
		for i, p := range batch {
			st, err := stage(tx, p.fn)
			if err != nil {
				results[i] = err
				continue
			}
			// A write the kvstore refuses rolls the whole batch back: better all fail than
			// one half-applied.
			if err := st.apply(); err != nil {
				return err
			}
		}
		return nil
	})
	for i, p := range batch {
		if err != nil {
			results[i] = err
		}
		p.done <- results[i]
	}
}

// InMemory returns an empty database that lives as long as the process.
func InMemory() DB {
	return &memory{data: map[string][]byte{}}
}

// memory is the no-home stand-in for the kvstore: a map under one lock, so transactions are
// serialised exactly as bbolt serialises its writers.
type memory struct {
	mu   sync.RWMutex
	data map[string][]byte
}

func (m *memory) Get(key string) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return mapTxn(m.data).Get(key)
}

// Scan copies the matching entries before calling fn, so fn runs without the lock held.
func (m *memory) Scan(prefix string, fn func(key string, value []byte) error) error {
	type entry struct {
		key   string
		value []byte
	}
	m.mu.RLock()
	var entries []entry
	for k, v := range m.data {
		if strings.HasPrefix(k, prefix) {
			entries = append(entries, entry{k, append([]byte{}, v...)})
		}
	}
	m.mu.RUnlock()

	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	for _, e := range entries {
		if err := fn(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

func (m *memory) Update(fn func(tx Txn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := stage(mapTxn(m.data), fn)
	if err != nil {
		return err
	}
	return st.apply()
}

func (m *memory) Close() error { return nil }

// mapTxn is a map seen as a transaction that applies changes at once.
type mapTxn map[string][]byte

func (t mapTxn) Get(key string) ([]byte, error) {
	v, ok := t[key]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t mapTxn) Put(key string, value []byte) error {
	if key == "" {
		return errors.New("put: empty key")
	}
	t[key] = append([]byte{}, value...)
	return nil
}

func (t mapTxn) Delete(key string) error {
	delete(t, key)
	return nil
}

// stage runs fn on a staging layer over base; its changes reach base only through apply, so a
// failed fn leaves base as it was. A panic in fn is that Update's error: it must not unwind
// through the group commit, which would leave the commit lead taken and every later Update
// waiting for good.
func stage(base Txn, fn func(tx Txn) error) (st *staged, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Errorw("a state update panicked; its changes are dropped", "panic", r, "stack", string(debug.Stack()))
			st, err = nil, fmt.Errorf("state update panicked (its changes were dropped): %v", r)
		}
	}()
	st = &staged{base: base, changes: map[string][]byte{}}
	if err := fn(st); err != nil {
		return nil, err
	}
	return st, nil
}

// apply writes the staged changes to base, in the order they were first made.
func (t *staged) apply() error {
	for _, k := range t.order {
		var err error
		if v := t.changes[k]; v == nil {
			err = t.base.Delete(k)
		} else {
			err = t.base.Put(k, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// staged records changes over base; a nil value marks a deletion.
type staged struct {
	base    Txn
	changes map[string][]byte
	order   []string
}

func (t *staged) Get(key string) ([]byte, error) {
	v, ok := t.changes[key]
	if !ok {
		return t.base.Get(key)
	}
	if v == nil {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *staged) Put(key string, value []byte) error {
	if key == "" {
		return errors.New("put: empty key")
	}
	t.set(key, append([]byte{}, value...))
	return nil
}

func (t *staged) Delete(key string) error {
	t.set(key, nil)
	return nil
}

func (t *staged) set(key string, value []byte) {
	if _, seen := t.changes[key]; !seen {
		t.order = append(t.order, key)
	}
	t.changes[key] = value
}
