package persist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// ReserveSummaryKey holds every store's reservations, as the original's <home>/common did.
const ReserveSummaryKey = "objstore/StoreReserveSummary"

// reserveSummary is the JSON of ReserveSummaryKey:
// {"Stats":{<store>:{"ReservedSize":n,"Reserved":{<fmt sector id>:{"By","Size","At"}}}}}.
type reserveSummary struct {
	Stats map[string]*reserveStat
}

type reserveStat struct {
	ReservedSize uint64
	Reserved     map[string]ReservedItem
}

// stat returns a store's reservations, empty when it has none.
func (s *reserveSummary) stat(name string) reserveStat {
	if st := s.Stats[name]; st != nil {
		return *st
	}
	return reserveStat{}
}

// statForWrite returns a store's reservations, creating them.
func (s *reserveSummary) statForWrite(name string) *reserveStat {
	st := s.Stats[name]
	if st == nil {
		st = &reserveStat{}
		s.Stats[name] = st
	}
	if st.Reserved == nil {
		st.Reserved = map[string]ReservedItem{}
	}
	return st
}

// loadSummary reads the reserve summary; the caller holds reserveMu.
func (m *Manager) loadSummary() (*reserveSummary, error) {
	summary := &reserveSummary{Stats: map[string]*reserveStat{}}
	raw, err := m.db.Get(ReserveSummaryKey)
	if errors.Is(err, statedb.ErrNotFound) {
		return summary, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ReserveSummaryKey, err)
	}
	if err := json.Unmarshal(raw, summary); err != nil {
		return nil, fmt.Errorf("decode %s: %w", ReserveSummaryKey, err)
	}
	if summary.Stats == nil {
		summary.Stats = map[string]*reserveStat{}
	}
	return summary, nil
}

// saveSummary writes the reserve summary durably; the caller holds reserveMu.
func (m *Manager) saveSummary(summary *reserveSummary) error {
	raw, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encode %s: %w", ReserveSummaryKey, err)
	}
	err = m.db.Update(func(tx statedb.Txn) error { return tx.Put(ReserveSummaryKey, raw) })
	if err != nil {
		return fmt.Errorf("save %s: %w", ReserveSummaryKey, err)
	}
	return nil
}

// onlineErr passes the 11001 error on as it is (go-jsonrpc sends the outermost error's code, and
// 11001 tells the worker to abort the sector); any other failure is labelled.
func onlineErr(err error) error {
	if api.IsSectorStateNotFound(err) {
		return err
	}
	return fmt.Errorf("sector state: %w", err)
}

// StoreReserveSpace picks a store for a sector's persisted files and reserves size bytes there
// (spec §4.8): among the stores whose miner policy admits the sector and that are in candidates
// (all when empty), a store already holding a reservation of this sector and size is returned
// again; otherwise a writable store with Free ≥ reserved + size is chosen at random by Weight
// (0 counts as 1). The reservation is durable before the store is returned. Null when no store
// fits: the worker asks again later. A sector that is not online gets 11001.
func (m *Manager) StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error) {
	if _, err := m.sectors.Online(sid); err != nil {
		return nil, onlineErr(err)
	}
	if m.any {
		return m.pickAnyCandidate(candidates), nil
	}
	by := api.FormatSectorID(sid)

	m.reserveMu.Lock()
	defer m.reserveMu.Unlock()
	summary, err := m.loadSummary()
	if err != nil {
		return nil, err
	}
	eligible, again := m.eligibleStores(sid.Miner, by, size, candidates, summary)
	if again != nil {
		log.Debugw("store reserved before", "sector", by, "size", size, "store", again.cfg.Name)
		return again.basicInfo(), nil
	}
	chosen := m.pickWeighted(eligible)
	if chosen == nil {
		log.Infow("no persist store fits", "sector", by, "size", size, "candidates", candidates)
		return nil, nil
	}
	stat := summary.statForWrite(chosen.cfg.Name)
	// A reservation of another size by the same sector is replaced, so ReservedSize stays the
	// sum of the items (the original added the new size and leaked the old one).
	if prev, ok := stat.Reserved[by]; ok {
		stat.ReservedSize -= min(stat.ReservedSize, prev.Size)
	}
	stat.Reserved[by] = ReservedItem{By: by, Size: size, At: m.now().Unix()}
	stat.ReservedSize += size
	if err := m.saveSummary(summary); err != nil {
		return nil, err
	}
	log.Infow("persist store reserved", "sector", by, "size", size, "store", chosen.cfg.Name)
	return chosen.basicInfo(), nil
}

func (m *Manager) pickAnyCandidate(candidates []string) *api.StoreBasicInfo {
	if len(candidates) == 0 {
		return nil
	}
	name := candidates[m.random(uint64(len(candidates)))]
	return basicInfo(name, name, nil)
}

// eligibleStores returns the stores a reservation of size by miner's sector may go to, in
// config order; again is the store that already holds the very same reservation, if any.
func (m *Manager) eligibleStores(miner abi.ActorID, by string, size uint64, candidates []string, summary *reserveSummary) (eligible []*store, again *store) {
	for _, st := range m.stores {
		if !admits(st, miner) || (len(candidates) > 0 && !slices.Contains(candidates, st.cfg.Name)) {
			continue
		}
		stat := summary.stat(st.cfg.Name)
		if prev, ok := stat.Reserved[by]; ok && prev.Size == size {
			return nil, st
		}
		if st.cfg.ReadOnly {
			continue
		}
		usage, err := m.usage(st.cfg.Path)
		if err != nil {
			log.Errorw("usage of persist store", "name", st.cfg.Name, "path", st.cfg.Path, "err", err)
			continue
		}
		// Free ≥ reserved + size, written so that a huge size cannot overflow.
		if size > usage.Free || stat.ReservedSize > usage.Free-size {
			continue
		}
		eligible = append(eligible, st)
	}
	return eligible, nil
}

// admits applies a store's miner policy: a denied miner never, else any miner when AllowMiners
// is empty, else only the listed ones.
func admits(st *store, miner abi.ActorID) bool {
	if slices.Contains(st.cfg.DenyMiners, miner) {
		return false
	}
	return len(st.cfg.AllowMiners) == 0 || slices.Contains(st.cfg.AllowMiners, miner)
}

// maxWeight caps a store's weight so that the sum over any number of stores cannot overflow.
const maxWeight = 1 << 32

func weight(st *store) uint64 {
	if st.cfg.Weight == 0 {
		return 1
	}
	return min(uint64(st.cfg.Weight), maxWeight)
}

// pickWeighted chooses one store with probability weight/total; nil when there is none.
func (m *Manager) pickWeighted(stores []*store) *store {
	var total uint64
	for _, st := range stores {
		total += weight(st)
	}
	if total == 0 {
		return nil
	}
	r := m.random(total)
	for _, st := range stores {
		if r < weight(st) {
			return st
		}
		r -= weight(st)
	}
	return stores[len(stores)-1]
}

// StoreReleaseReserved removes a sector's reservations from every store, lowering each
// ReservedSize but never below 0; it tells whether there was any. The sealing flow calls it on
// finalize and abort, an operator through `util storage release-reserved`.
func (m *Manager) StoreReleaseReserved(ctx context.Context, sid abi.SectorID) (bool, error) {
	if m.any {
		return false, nil
	}
	by := api.FormatSectorID(sid)
	m.reserveMu.Lock()
	defer m.reserveMu.Unlock()
	summary, err := m.loadSummary()
	if err != nil {
		return false, err
	}
	released := false
	for name, stat := range summary.Stats {
		item, ok := stat.Reserved[by]
		if !ok {
			continue
		}
		stat.ReservedSize -= min(stat.ReservedSize, item.Size)
		delete(stat.Reserved, by)
		released = true
		log.Infow("persist store reservation released", "sector", by, "size", item.Size, "store", name)
	}
	if !released {
		return false, nil
	}
	if err := m.saveSummary(summary); err != nil {
		return false, err
	}
	return true, nil
}
