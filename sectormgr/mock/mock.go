// Package mock is the manager behind `venus-sector-manager mock`: a mocked chain that allocates
// sectors, hands out per-sector tickets and seeds, and verifies the worker's mock proofs
// (api/mockproof), all in memory. Unlike the original mock it keeps sector states and the worker
// registry, so the operator's util commands work against it.
package mock

import (
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

var log = logging.Logger("mock")

var _ api.ManagerAPI = (*Mock)(nil)

// Mock is an in-memory manager for one miner and one sector size. It is safe for concurrent use.
type Mock struct {
	miner      abi.ActorID
	sectorSize abi.SectorSize
	proofType  abi.RegisteredSealProof
	// zeroCommD is the CommD every CC sector of this size must pre-commit.
	zeroCommD [32]byte

	lastNumber atomic.Uint64

	mu      sync.Mutex
	online  map[abi.SectorID]*api.SectorState
	offline map[abi.SectorID]*api.SectorState

	workersMu sync.Mutex
	workers   map[string]api.WorkerPingInfo
}

// New creates a mock manager that allocates sectors of sectorSize for miner.
func New(miner abi.ActorID, sectorSize abi.SectorSize) (*Mock, error) {
	proofType, err := api.SealProofForSize(sectorSize)
	if err != nil {
		return nil, err
	}
	zeroCommD, err := zeroPieceCommD(sectorSize)
	if err != nil {
		return nil, err
	}
	return &Mock{
		miner:      miner,
		sectorSize: sectorSize,
		proofType:  proofType,
		zeroCommD:  zeroCommD,
		online:     map[abi.SectorID]*api.SectorState{},
		offline:    map[abi.SectorID]*api.SectorState{},
		workers:    map[string]api.WorkerPingInfo{},
	}, nil
}

// zeroPieceCommD is the data commitment of a sector filled with zeros (a CC sector).
func zeroPieceCommD(size abi.SectorSize) ([32]byte, error) {
	var out [32]byte
	unpadded := abi.PaddedPieceSize(size).Unpadded()
	raw, err := commcid.CIDToDataCommitmentV1(zerocomm.ZeroPieceCommitment(unpadded))
	if err != nil {
		return out, fmt.Errorf("zero piece commitment of %d bytes: %w", uint64(size), err)
	}
	copy(out[:], raw)
	return out, nil
}

// Miner is the miner actor the mock allocates sectors for.
func (m *Mock) Miner() abi.ActorID { return m.miner }

// ProofType is the seal proof of every sector the mock allocates.
func (m *Mock) ProofType() abi.RegisteredSealProof { return m.proofType }

// Sector returns a copy of a sector's state and which store holds it.
func (m *Mock) Sector(sid abi.SectorID) (state api.SectorState, online bool, found bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.online[sid]; ok {
		return cloneState(st), true, true
	}
	if st, ok := m.offline[sid]; ok {
		return cloneState(st), false, true
	}
	return api.SectorState{}, false, false
}

// Sectors returns copies of the online (or offline) sector states in the key order of the
// original's store: lexicographic on m-<miner>-n-<number>, so n-10 comes before n-2.
func (m *Mock) Sectors(offline bool) []api.SectorState {
	m.mu.Lock()
	store := m.online
	if offline {
		store = m.offline
	}
	out := make([]api.SectorState, 0, len(store))
	for _, st := range store {
		out = append(out, cloneState(st))
	}
	m.mu.Unlock()

	sort.Slice(out, func(i, j int) bool { return stateKey(out[i].ID) < stateKey(out[j].ID) })
	return out
}

func stateKey(sid abi.SectorID) string {
	return fmt.Sprintf("m-%d-n-%d", sid.Miner, sid.Number)
}

// withOnline runs fn on the online record of sid under the state lock; a sector that is not
// online gives 11001, which tells a worker to abort it.
func (m *Mock) withOnline(sid abi.SectorID, fn func(st *api.SectorState) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.online[sid]
	if !ok {
		return api.ErrSectorStateNotFound()
	}
	return fn(st)
}

// moveOffline ends the online life of a sector: the record is marked finalized, changed by
// update, and kept in the offline store.
func (m *Mock) moveOffline(sid abi.SectorID, update func(st *api.SectorState)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.online[sid]
	if !ok {
		return api.ErrSectorStateNotFound()
	}
	delete(m.online, sid)
	st.Finalized = true
	update(st)
	m.offline[sid] = st
	return nil
}

func randomness() abi.Randomness {
	b := make([]byte, 32)
	// crypto/rand.Read never fails on supported platforms (it aborts the process instead).
	_, _ = rand.Read(b)
	return b
}

// cloneState copies a record deeply enough that callers cannot change the mock's own copy.
func cloneState(st *api.SectorState) api.SectorState {
	out := *st
	if st.Ticket != nil {
		t := api.Ticket{Ticket: cloneBytes(st.Ticket.Ticket), Epoch: st.Ticket.Epoch}
		out.Ticket = &t
	}
	if st.Seed != nil {
		s := api.Seed{Seed: cloneBytes(st.Seed.Seed), Epoch: st.Seed.Epoch}
		out.Seed = &s
	}
	if st.Pre != nil {
		pre := *st.Pre
		pre.Ticket.Ticket = cloneBytes(pre.Ticket.Ticket)
		pre.Deals = append([]abi.DealID(nil), pre.Deals...)
		out.Pre = &pre
	}
	if st.Proof != nil {
		out.Proof = &api.ProofInfo{Proof: cloneBytes(st.Proof.Proof)}
	}
	if st.LatestState != nil {
		rep := *st.LatestState
		if rep.Failure != nil {
			f := *rep.Failure
			rep.Failure = &f
		}
		out.LatestState = &rep
	}
	out.Pieces = append(api.Deals(nil), st.Pieces...)
	return out
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
