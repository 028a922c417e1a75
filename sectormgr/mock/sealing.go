package mock

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/version"
)

// AllocateSector numbers sectors 1, 2, 3, … for the mock's miner; empty filter lists allow
// anything, a filter that excludes the miner or its proof type gets null.
func (m *Mock) AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	log.Debugw("AllocateSector", "spec", spec)
	if !allows(spec.AllowedMiners, m.miner) || !allows(spec.AllowedProofTypes, m.proofType) {
		return nil, nil
	}

	// The number and the sector's state are persisted before the number is returned, so a
	// restarted manager never hands it out again.
	sid, ok, err := m.sectors.AllocateUpTo(m.miner, m.proofType, m.maxSectors)
	if err != nil {
		return nil, err
	}
	if !ok {
		log.Debugw("no sector allocated: --max-sectors reached", "max", m.maxSectors)
		return nil, nil
	}
	log.Infow("sector allocated", "next", uint64(sid.Number))
	return &api.AllocatedSector{ID: sid, ProofType: m.proofType}, nil
}

func allows[T comparable](allowed []T, v T) bool {
	return len(allowed) == 0 || slices.Contains(allowed, v)
}

// AssignTicket draws the sector's ticket on the first call and returns the same one afterwards,
// as a chain would for a fixed ticket epoch.
func (m *Mock) AssignTicket(ctx context.Context, sid abi.SectorID) (api.Ticket, error) {
	log.Debugw("AssignTicket", "sector", api.FormatSectorID(sid))
	var ticket api.Ticket
	err := m.withOnline(sid, func(st *api.SectorState) error {
		if st.Ticket == nil {
			st.Ticket = &api.Ticket{Ticket: randomness(), Epoch: 0}
		}
		ticket = api.Ticket{Ticket: cloneBytes(st.Ticket.Ticket), Epoch: st.Ticket.Epoch}
		return nil
	})
	return ticket, err
}

// SubmitPersisted accepts every persisted sector (the mock has no stores to check) and indexes
// the store holding it, where a snap-up of the sector later reads its sector key.
func (m *Mock) SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	log.Debugw("SubmitPersisted", "sector", api.FormatSectorID(sid), "instance", instance)
	if _, err := m.sectors.Online(sid); err != nil {
		return false, err
	}
	if err := m.setAccessInstance(sid, instance); err != nil {
		return false, err
	}
	return true, nil
}

// WaitSeed never makes the worker wait: the sector's seed is drawn on the first call and kept.
func (m *Mock) WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	log.Debugw("WaitSeed", "sector", api.FormatSectorID(sid))
	var resp api.WaitSeedResp
	if wait := m.seedWait(sid); wait > 0 {
		if _, err := m.sectors.Online(sid); err != nil {
			return resp, err
		}
		return api.WaitSeedResp{ShouldWait: true, Delay: int((wait + time.Second - 1) / time.Second)}, nil
	}
	err := m.withOnline(sid, func(st *api.SectorState) error {
		if st.Seed == nil {
			st.Seed = &api.Seed{Seed: randomness(), Epoch: 0}
		}
		resp.Seed = &api.Seed{Seed: cloneBytes(st.Seed.Seed), Epoch: st.Seed.Epoch}
		return nil
	})
	return resp, err
}

// seedWait is how long a sector still waits for its seed.
func (m *Mock) seedWait(sid abi.SectorID) time.Duration {
	if m.seedDelay <= 0 {
		return 0
	}
	m.seedMu.Lock()
	defer m.seedMu.Unlock()
	asked, ok := m.seedAsked[sid]
	if !ok {
		asked = m.now()
		m.seedAsked[sid] = asked
	}
	return asked.Add(m.seedDelay).Sub(m.now())
}

// StoreReserveSpace picks one of the worker's candidate stores at random; the mock tracks no space.
func (m *Mock) StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error) {
	log.Debugw("StoreReserveSpace", "sector", api.FormatSectorID(sid), "size", size, "candidates", candidates)
	if _, err := m.sectors.Online(sid); err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	return storeInfo(candidates[rand.IntN(len(candidates))]), nil
}

// StoreBasicInfo knows every store: its path is its name.
func (m *Mock) StoreBasicInfo(ctx context.Context, instanceName string) (*api.StoreBasicInfo, error) {
	log.Debugw("StoreBasicInfo", "instance", instanceName)
	return storeInfo(instanceName), nil
}

func storeInfo(name string) *api.StoreBasicInfo {
	return &api.StoreBasicInfo{Name: name, Path: name, Meta: map[string]string{}}
}

// Version names this build and says its chain is mocked, so workers with mock proofs accept it.
func (m *Mock) Version(ctx context.Context) (string, error) {
	return "venus-sector-manager " + version.String() + " " + api.MockChainTag, nil
}
