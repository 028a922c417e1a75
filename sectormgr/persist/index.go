package persist

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// Index types of SectorIndexerFind: the index of sealed sectors and the one of snap-ups.
const (
	IndexNormal  = "normal"
	IndexUpgrade = "upgrade"
)

// indexLayout is where the sector index keeps which store holds a sector's sealed file
// (<prefix>m-<miner>-n-<num>) and cache dir (<prefix>cache/m-<miner>-n-<num>).
type indexLayout struct {
	normal, upgrade string
}

// productionIndex keeps the original's keys: its <home>/sector-index database held the normal
// index unprefixed (here under sector-index/, as worker/ names the worker database's raw keys)
// and the upgrade index under sector-upgrade/.
var productionIndex = indexLayout{normal: "sector-index/", upgrade: "sector-upgrade/"}

// mockIndex keeps the keys the mock has written since before this package existed, so a mock
// home keeps its sector index.
var mockIndex = indexLayout{normal: "mock-sector-index/normal/", upgrade: "mock-sector-index/upgrade/"}

func (l indexLayout) keys(sid abi.SectorID, upgrade bool) (sealed, cache string) {
	prefix := l.normal
	if upgrade {
		prefix = l.upgrade
	}
	return prefix + sectors.Key(sid), prefix + "cache/" + sectors.Key(sid)
}

// SectorAccessStores names the stores holding a sector's sealed file and its cache dir.
type SectorAccessStores struct {
	SealedFile string
	CacheDir   string
}

// SectorIndexLocation is the answer of SectorIndexerFind.
type SectorIndexLocation struct {
	Found    bool
	Instance SectorAccessStores
}

// SubmitPersisted is the worker telling that a sealed sector's files are in store instance
// (spec §4.8). The files are checked (sealed/s-t0M-N of the sector size, and the cache files of
// CacheFileNames); if they are there the sector index records the store and the answer is true.
// A missing or wrong file answers false (the worker treats it as permanent) and is logged with
// the file's path, where the original answered an RPC error. A sector that is not online gets
// 11001. The mock's mode checks nothing.
func (m *Manager) SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	return m.submitPersisted(sid, instance, false)
}

// SubmitPersistedUpgrade is SubmitPersisted for a snap-up: it checks update/ and update-cache/
// and records the store in the upgrade index. SubmitSnapUpProof answers FilesMissed on false.
func (m *Manager) SubmitPersistedUpgrade(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	return m.submitPersisted(sid, instance, true)
}

// SubmitPersistedEx is damocles' form of the two (Venus.SubmitPersistedEx).
func (m *Manager) SubmitPersistedEx(ctx context.Context, sid abi.SectorID, instance string, isUpgrade bool) (bool, error) {
	return m.submitPersisted(sid, instance, isUpgrade)
}

func (m *Manager) submitPersisted(sid abi.SectorID, instance string, upgrade bool) (bool, error) {
	st, err := m.sectors.Online(sid)
	if err != nil {
		return false, onlineErr(err)
	}
	if !m.any {
		ok, err := m.checkPersisted(st, instance, upgrade)
		if !ok || err != nil {
			return false, err
		}
	}
	if err := m.writeIndex(sid, upgrade, SectorAccessStores{SealedFile: instance, CacheDir: instance}); err != nil {
		return false, err
	}
	log.Infow("sector persisted", "sector", api.FormatSectorID(sid), "store", instance, "upgrade", upgrade)
	return true, nil
}

// checkPersisted tells whether the files of st are complete in store instance.
func (m *Manager) checkPersisted(st *api.SectorState, instance string, upgrade bool) (bool, error) {
	store, ok := m.byName[instance]
	if !ok {
		return false, fmt.Errorf("persist store %q is not in [[Common.PersistStores]] of the manager: add it back and restart the manager", instance)
	}
	size, err := st.SectorType.SectorSize()
	if err != nil {
		return false, fmt.Errorf("sector %s: size of seal proof %d: %w", api.FormatSectorID(st.ID), st.SectorType, err)
	}
	err = CheckSectorFiles(store.cfg.Path, store.cfg.Path, st.ID, size, upgrade, store.cfg.Strict)
	var problem *FileProblem
	if errors.As(err, &problem) {
		log.Warnw("persisted sector refused: a file is missing or wrong",
			"sector", api.FormatSectorID(st.ID), "store", instance, "upgrade", upgrade, "file", problem.Path, "problem", problem.Problem)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check persisted files of %s in store %s: %w", api.FormatSectorID(st.ID), instance, err)
	}
	return true, nil
}

func (m *Manager) writeIndex(sid abi.SectorID, upgrade bool, access SectorAccessStores) error {
	sealedKey, cacheKey := m.index.keys(sid, upgrade)
	err := m.db.Update(func(tx statedb.Txn) error {
		if err := tx.Put(sealedKey, []byte(access.SealedFile)); err != nil {
			return err
		}
		return tx.Put(cacheKey, []byte(access.CacheDir))
	})
	if err != nil {
		return fmt.Errorf("index sector %s: %w", api.FormatSectorID(sid), err)
	}
	return nil
}

// find reads the index; a sector without a cache-dir entry has its cache dir beside its sealed
// file, as in the original.
func (m *Manager) find(sid abi.SectorID, upgrade bool) (SectorAccessStores, bool, error) {
	sealedKey, cacheKey := m.index.keys(sid, upgrade)
	sealed, err := m.db.Get(sealedKey)
	if errors.Is(err, statedb.ErrNotFound) {
		return SectorAccessStores{}, false, nil
	}
	if err != nil {
		return SectorAccessStores{}, false, fmt.Errorf("locate sealed file of %s: %w", api.FormatSectorID(sid), err)
	}
	access := SectorAccessStores{SealedFile: string(sealed), CacheDir: string(sealed)}
	cache, err := m.db.Get(cacheKey)
	switch {
	case err == nil && len(cache) > 0:
		access.CacheDir = string(cache)
	case err != nil && !errors.Is(err, statedb.ErrNotFound):
		return SectorAccessStores{}, false, fmt.Errorf("locate cache dir of %s: %w", api.FormatSectorID(sid), err)
	}
	return access, true, nil
}

// SectorIndexerFind answers `util storage find`: which stores hold a sector's files in the
// index of indexType ("normal" or "upgrade").
func (m *Manager) SectorIndexerFind(ctx context.Context, indexType string, sid abi.SectorID) (SectorIndexLocation, error) {
	var upgrade bool
	switch indexType {
	case IndexNormal:
	case IndexUpgrade:
		upgrade = true
	default:
		return SectorIndexLocation{}, fmt.Errorf("sector index type %q is not supported: use %q or %q", indexType, IndexNormal, IndexUpgrade)
	}
	access, found, err := m.find(sid, upgrade)
	if err != nil {
		return SectorIndexLocation{}, err
	}
	return SectorIndexLocation{Found: found, Instance: access}, nil
}

// SectorFiles says where a persisted sector's files are: the stores and the absolute paths of
// the sealed (update) file and the cache (update-cache) dir.
type SectorFiles struct {
	SealedStore api.StoreBasicInfo
	SealedFile  string
	CacheStore  api.StoreBasicInfo
	CacheDir    string
}

// Locate finds a sector's files through the sector index (upgrade: the snap-up's update files);
// found is false for a sector that was never persisted. A sector indexed in a store that is no
// longer configured is an error naming the store.
func (m *Manager) Locate(sid abi.SectorID, upgrade bool) (files SectorFiles, found bool, err error) {
	access, found, err := m.find(sid, upgrade)
	if err != nil || !found {
		return SectorFiles{}, false, err
	}
	sealedStore, err := m.indexedStore(sid, access.SealedFile)
	if err != nil {
		return SectorFiles{}, false, err
	}
	cacheStore, err := m.indexedStore(sid, access.CacheDir)
	if err != nil {
		return SectorFiles{}, false, err
	}
	sealedRel, cacheRel := SectorPaths(sid, upgrade)
	return SectorFiles{
		SealedStore: *sealedStore.basicInfo(),
		SealedFile:  filepath.Join(sealedStore.cfg.Path, sealedRel),
		CacheStore:  *cacheStore.basicInfo(),
		CacheDir:    filepath.Join(cacheStore.cfg.Path, cacheRel),
	}, true, nil
}

func (m *Manager) indexedStore(sid abi.SectorID, name string) (*store, error) {
	st, ok := m.lookup(name)
	if !ok {
		return nil, fmt.Errorf("sector %s is indexed in persist store %q, which is not in [[Common.PersistStores]]: add the store back", api.FormatSectorID(sid), name)
	}
	return st, nil
}
