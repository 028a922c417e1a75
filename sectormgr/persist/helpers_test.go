package persist

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	miner    = abi.ActorID(10000)
	proof2K  = abi.RegisteredSealProof_StackedDrg2KiBV1_1
	proof32G = abi.RegisteredSealProof_StackedDrg32GiBV1_1
)

// clock is the reservations' time: 2023-11-14T22:13:20Z.
var clock = time.Unix(1700000000, 0)

// fixture is a manager over in-memory state, with fake disks and a scripted random source.
type fixture struct {
	db      statedb.DB
	sectors *sectors.Store

	mu    sync.Mutex
	disks map[string]DiskUsage // by store path; a path without one fails statfs
	next  uint64               // what the random source answers (mod n)
	asked []uint64             // the n of every random draw
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := statedb.InMemory()
	return &fixture{db: db, sectors: sectors.New(db), disks: map[string]DiskUsage{}}
}

func (f *fixture) options() []Option {
	return []Option{
		WithDiskUsage(func(path string) (DiskUsage, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			u, ok := f.disks[path]
			if !ok {
				return DiskUsage{}, errors.New("statfs " + path + ": input/output error")
			}
			return u, nil
		}),
		WithRandom(func(n uint64) uint64 {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.asked = append(f.asked, n)
			return f.next % n
		}),
		WithClock(func() time.Time { return clock }),
	}
}

func (f *fixture) setDisk(path string, free uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disks[path] = DiskUsage{Type: "xfs", Total: 1 << 40, Free: free, Used: 1<<40 - free, UsedPercent: float64(1<<40-free) / float64(1<<40) * 100}
}

func (f *fixture) open(t *testing.T, stores ...config.PersistStoreConfig) *Manager {
	t.Helper()
	m, err := Open(stores, f.db, f.sectors, f.options()...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeDir makes a store directory with plenty of (fake) free space.
func (f *fixture) storeDir(t *testing.T, name string) config.PersistStoreConfig {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.setDisk(dir, 1<<40)
	return config.PersistStoreConfig{Name: name, Path: dir}
}

func (f *fixture) allocate(t *testing.T, m abi.ActorID, p abi.RegisteredSealProof) abi.SectorID {
	t.Helper()
	sid, err := f.sectors.Allocate(m, p)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func (f *fixture) summary(t *testing.T) string {
	t.Helper()
	raw, err := f.db.Get(ReserveSummaryKey)
	if err != nil {
		t.Fatalf("read %s: %v", ReserveSummaryKey, err)
	}
	return string(raw)
}

func (f *fixture) key(t *testing.T, key string) string {
	t.Helper()
	raw, err := f.db.Get(key)
	if errors.Is(err, statedb.ErrNotFound) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func storeName(info *api.StoreBasicInfo) string {
	if info == nil {
		return "<null>"
	}
	return info.Name
}

// wantUnwrapped11001 checks that err is the 11001 error itself: go-jsonrpc sends the code of the
// outermost error only.
func wantUnwrapped11001(t *testing.T, what string, err error) {
	t.Helper()
	coded, ok := err.(*api.CodedError)
	if !ok || coded.Code != api.ErrCodeSectorStateNotFound || coded.Message != "error code 11001: sector state not found" {
		t.Fatalf("%s: err = %#v (%v), want the unwrapped 11001 error", what, err, err)
	}
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Fatalf("%s: err = %v\nwant %s", what, err, want)
	}
}

// writeFile creates path (and its directories) with size bytes, sparse.
func writeFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// writeSector lays out a complete persisted sector of size in store dir.
func writeSector(t *testing.T, dir string, sid abi.SectorID, size abi.SectorSize, upgrade bool) {
	t.Helper()
	sealed, cache := SectorPaths(sid, upgrade)
	writeFile(t, filepath.Join(dir, sealed), int64(size))
	names, err := CacheFileNames(size)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		writeFile(t, filepath.Join(dir, cache, name), 16)
	}
}
