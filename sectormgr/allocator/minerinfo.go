package allocator

import (
	"context"
	"fmt"
	"sync"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// MinerInfoChain is the chain call miner infos come from.
type MinerInfoChain interface {
	StateMinerInfo(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) (chain.MinerInfo, error)
}

// MinerInfo is what the manager needs to know of a miner actor to seal for it.
type MinerInfo struct {
	ID         abi.ActorID
	Addr       address.Address
	SectorSize abi.SectorSize
	// SealProofType is the V1_1 proof of SectorSize: what every current network version seals with.
	SealProofType abi.RegisteredSealProof
}

// MinerInfos reads miner infos from the chain and keeps each forever after its first success:
// a miner's sector size never changes. It is safe for concurrent use.
type MinerInfos struct {
	chain MinerInfoChain

	mu    sync.Mutex
	cache map[abi.ActorID]MinerInfo
}

// NewMinerInfos reads miner infos from c.
func NewMinerInfos(c MinerInfoChain) *MinerInfos {
	return &MinerInfos{chain: c, cache: map[abi.ActorID]MinerInfo{}}
}

// Get returns the info of miner; a failed chain call is not cached, so the next Get asks again.
func (m *MinerInfos) Get(ctx context.Context, miner abi.ActorID) (MinerInfo, error) {
	m.mu.Lock()
	info, ok := m.cache[miner]
	m.mu.Unlock()
	if ok {
		return info, nil
	}

	maddr, err := address.NewIDAddress(uint64(miner))
	if err != nil {
		return MinerInfo{}, fmt.Errorf("miner actor %d: %w", miner, err)
	}
	mi, err := m.chain.StateMinerInfo(ctx, maddr, chain.EmptyTSK)
	if err != nil {
		return MinerInfo{}, fmt.Errorf("miner actor %d: %w", miner, err)
	}
	proof, err := api.SealProofForSize(mi.SectorSize)
	if err != nil {
		return MinerInfo{}, fmt.Errorf("miner actor %d: the chain gives it an %w", miner, err)
	}
	info = MinerInfo{ID: miner, Addr: maddr, SectorSize: mi.SectorSize, SealProofType: proof}

	m.mu.Lock()
	m.cache[miner] = info
	m.mu.Unlock()
	return info, nil
}

// SectorSize is the sector size of miner.
func (m *MinerInfos) SectorSize(ctx context.Context, miner abi.ActorID) (abi.SectorSize, error) {
	info, err := m.Get(ctx, miner)
	return info.SectorSize, err
}
