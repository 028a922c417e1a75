// Package persist holds the manager's persist stores (spec/sector-manager.md §4.8): the
// directories of [[Common.PersistStores]] that sealed sectors are moved to. It answers the
// workers' StoreBasicInfo, StoreReserveSpace and SubmitPersisted, keeps the space reservations
// (objstore/StoreReserveSummary) and the sector index (which store holds each sector's files) in
// the manager's statedb, and tells other modules where a sector's files are (Locate).
//
// OpenAny is the permissive variant of `venus-sector-manager mock`, which does not know the
// workers' stores: every store name exists and every persisted sector is accepted.
package persist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("persist")

// Manager is the set of persist stores of one manager. It is safe for concurrent use.
type Manager struct {
	// stores in config order; byName indexes them.
	stores []*store
	byName map[string]*store
	// any: the mock's mode, where every name is a store and nothing is checked.
	any bool

	db      statedb.DB
	sectors *sectors.Store
	index   indexLayout

	usage  func(path string) (DiskUsage, error)
	random func(n uint64) uint64
	now    func() time.Time

	// reserveMu serialises the read-modify-write of the reserve summary, which only this
	// Manager writes; the free-space checks run under it but outside any statedb transaction.
	reserveMu sync.Mutex
}

// store is one configured store, Name and Path resolved.
type store struct {
	cfg config.PersistStoreConfig
}

func (s *store) basicInfo() *api.StoreBasicInfo {
	return basicInfo(s.cfg.Name, s.cfg.Path, s.cfg.Meta)
}

// basicInfo copies meta, so callers cannot change the configuration, and turns a missing Meta
// into {} as the mock always answered.
func basicInfo(name, path string, meta map[string]string) *api.StoreBasicInfo {
	out := map[string]string{}
	maps.Copy(out, meta)
	return &api.StoreBasicInfo{Name: name, Path: path, Meta: out}
}

// DiskUsage is what StoreList shows of a store's filesystem and what StoreReserveSpace checks.
type DiskUsage struct {
	Type        string // filesystem type, for display
	Total       uint64
	Free        uint64 // available to the manager's user, as statfs f_bavail
	Used        uint64
	UsedPercent float64
}

// Option changes how Open and OpenAny build a Manager.
type Option func(*Manager)

// WithDiskUsage replaces statfs as the source of a store's free space (tests).
func WithDiskUsage(fn func(path string) (DiskUsage, error)) Option {
	return func(m *Manager) { m.usage = fn }
}

// WithRandom replaces the weighted choice's random source: fn(n) returns a number in [0, n).
func WithRandom(fn func(n uint64) uint64) Option {
	return func(m *Manager) { m.random = fn }
}

// WithClock replaces time.Now as the clock of reservations (tests).
func WithClock(now func() time.Time) Option {
	return func(m *Manager) { m.now = now }
}

func newManager(db statedb.DB, sectorStore *sectors.Store, index indexLayout, opts []Option) *Manager {
	m := &Manager{
		byName:  map[string]*store{},
		db:      db,
		sectors: sectorStore,
		index:   index,
		usage:   diskUsage,
		random:  rand.Uint64N,
		now:     time.Now,
	}
	for _, opt := range opts {
		opt(m)
	}
	return m
}

// Open checks the configured stores and returns their Manager. Reservations and the sector index
// live in db, so they outlive a restart.
func Open(stores []config.PersistStoreConfig, db statedb.DB, sectorStore *sectors.Store, opts ...Option) (*Manager, error) {
	m := newManager(db, sectorStore, productionIndex, opts)
	for i, cfg := range stores {
		st, err := checkStore(i, cfg)
		if err != nil {
			return nil, err
		}
		if prev, dup := m.byName[st.cfg.Name]; dup {
			return nil, fmt.Errorf("persist store name %q is used twice in [[Common.PersistStores]] (paths %s and %s): give each store its own Name",
				st.cfg.Name, prev.cfg.Path, st.cfg.Path)
		}
		m.byName[st.cfg.Name] = st
		m.stores = append(m.stores, st)
		log.Infow("persist store", "name", st.cfg.Name, "path", st.cfg.Path, "readonly", st.cfg.ReadOnly, "weight", st.cfg.Weight)
	}
	return m, nil
}

// OpenAny returns the Manager of `venus-sector-manager mock`: StoreBasicInfo knows every name
// (its path is its name), StoreReserveSpace picks a random candidate and tracks no space,
// SubmitPersisted accepts every sector. The sector index is still kept, under the keys the mock
// always used, because the mock's snap-up reads a sector's access store from it.
func OpenAny(db statedb.DB, sectorStore *sectors.Store, opts ...Option) *Manager {
	m := newManager(db, sectorStore, mockIndex, opts)
	m.any = true
	return m
}

// checkStore resolves a store's Name and Path and checks that its directory is there.
func checkStore(i int, cfg config.PersistStoreConfig) (*store, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("[[Common.PersistStores]] #%d (Name %q) has no Path: set it to the store's directory", i, cfg.Name)
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("[[Common.PersistStores]] #%d: absolute path of %s: %w", i, cfg.Path, err)
	}
	cfg.Path = abs
	if cfg.Name == "" {
		cfg.Name = abs
	}
	if cfg.Plugin != "" {
		return nil, fmt.Errorf("objstore plugins are not supported; remove Plugin from [[Common.PersistStores]] %s", cfg.Name)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("persist store %s: directory %s does not exist: create it or attach the storage there, or fix Path in [[Common.PersistStores]]", cfg.Name, abs)
	}
	if err != nil {
		return nil, fmt.Errorf("persist store %s: %w", cfg.Name, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("persist store %s: %s is not a directory: point Path in [[Common.PersistStores]] at the store's directory", cfg.Name, abs)
	}
	return &store{cfg: cfg}, nil
}

// lookup returns the store of a name; in the mock's mode every name is a store at that path.
func (m *Manager) lookup(name string) (*store, bool) {
	if m.any {
		return &store{cfg: config.PersistStoreConfig{Name: name, Path: name}}, true
	}
	st, ok := m.byName[name]
	return st, ok
}

// StoreBasicInfo returns a configured store's {Name, Path, Meta}, or null for a name that is not
// configured (the worker then refuses to start).
func (m *Manager) StoreBasicInfo(ctx context.Context, instanceName string) (*api.StoreBasicInfo, error) {
	st, ok := m.lookup(instanceName)
	if !ok {
		log.Warnw("StoreBasicInfo: unknown persist store", "instance", instanceName)
		return nil, nil
	}
	return st.basicInfo(), nil
}

// StoreDetailedInfo is one entry of StoreList (spec §3.5): the basic info, flattened, and the
// store's filesystem usage and reservations.
type StoreDetailedInfo struct {
	api.StoreBasicInfo
	Type        string
	Total       uint64
	Free        uint64
	Used        uint64
	UsedPercent float64
	Reserved    uint64
	ReservedBy  []ReservedItem
}

// ReservedItem is one sector's reservation: By is the fmt sector id, At unix seconds.
type ReservedItem struct {
	By   string
	Size uint64
	At   int64
}

// StoreList returns every configured store, in config order, with its usage and reservations
// (ReservedBy sorted by At, then By). A store whose usage cannot be read is left out and logged,
// as in the original. The mock's mode knows no stores: the list is empty.
func (m *Manager) StoreList(ctx context.Context) ([]StoreDetailedInfo, error) {
	m.reserveMu.Lock()
	summary, err := m.loadSummary()
	m.reserveMu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]StoreDetailedInfo, 0, len(m.stores))
	for _, st := range m.stores {
		usage, err := m.usage(st.cfg.Path)
		if err != nil {
			log.Errorw("StoreList: usage of persist store", "name", st.cfg.Name, "path", st.cfg.Path, "err", err)
			continue
		}
		stat := summary.stat(st.cfg.Name)
		out = append(out, StoreDetailedInfo{
			StoreBasicInfo: *st.basicInfo(),
			Type:           usage.Type,
			Total:          usage.Total,
			Free:           usage.Free,
			Used:           usage.Used,
			UsedPercent:    usage.UsedPercent,
			Reserved:       stat.ReservedSize,
			ReservedBy:     sortedItems(stat.Reserved),
		})
	}
	return out, nil
}

func sortedItems(reserved map[string]ReservedItem) []ReservedItem {
	items := make([]ReservedItem, 0, len(reserved))
	for _, it := range reserved {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].At != items[j].At {
			return items[i].At < items[j].At
		}
		return items[i].By < items[j].By
	})
	return items
}
