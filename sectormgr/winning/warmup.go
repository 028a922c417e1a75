package winning

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// Chain is what the warm-up reads to find a sector to prove.
type Chain interface {
	ChainHead(ctx context.Context) (*chain.TipSet, error)
	StateMinerDeadlines(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) ([]chain.Deadline, error)
	StateMinerPartitions(ctx context.Context, maddr address.Address, dlIdx uint64, tsk chain.TipSetKey) ([]chain.Partition, error)
	StateMinerSectors(ctx context.Context, maddr address.Address, sectors *bitfield.BitField, tsk chain.TipSetKey) ([]*chain.SectorOnChainInfo, error)
}

// WarmupResult is what a warm-up proved and how long the proof took.
type WarmupResult struct {
	Sector abi.SectorNumber
	Took   time.Duration
}

// ErrNoSector is a warm-up with nothing to prove: the miner has no active sector on chain.
var ErrNoSector = errors.New("no active sector on chain to prove")

// Warmup proves the miner's first active sector once, with fresh randomness, so that the first
// real request does not pay for loading the proof parameters.
func Warmup(ctx context.Context, node Chain, p Prover, mid abi.ActorID) (WarmupResult, error) {
	sector, err := firstActiveSector(ctx, node, mid)
	if err != nil {
		return WarmupResult{}, err
	}
	r := make(abi.PoStRandomness, 32)
	if _, err := rand.Read(r); err != nil {
		return WarmupResult{}, err
	}
	start := time.Now()
	if _, err := p.Prove(mid, []proof.ExtendedSectorInfo{sector}, r); err != nil {
		return WarmupResult{Sector: sector.SectorNumber}, err
	}
	return WarmupResult{Sector: sector.SectorNumber, Took: time.Since(start)}, nil
}

// firstActiveSector walks the deadlines in order to the first partition with an active sector.
func firstActiveSector(ctx context.Context, node Chain, mid abi.ActorID) (proof.ExtendedSectorInfo, error) {
	maddr, err := address.NewIDAddress(uint64(mid))
	if err != nil {
		return proof.ExtendedSectorInfo{}, err
	}
	head, err := node.ChainHead(ctx)
	if err != nil {
		return proof.ExtendedSectorInfo{}, err
	}
	tsk := head.Key()
	dls, err := node.StateMinerDeadlines(ctx, maddr, tsk)
	if err != nil {
		return proof.ExtendedSectorInfo{}, err
	}
	for idx := range dls {
		parts, err := node.StateMinerPartitions(ctx, maddr, uint64(idx), tsk)
		if err != nil {
			return proof.ExtendedSectorInfo{}, fmt.Errorf("partitions of deadline %d: %w", idx, err)
		}
		for _, part := range parts {
			num, err := part.ActiveSectors.First()
			if err != nil {
				continue // an empty bitfield
			}
			one := bitfield.NewFromSet([]uint64{num})
			infos, err := node.StateMinerSectors(ctx, maddr, &one, tsk)
			if err != nil {
				return proof.ExtendedSectorInfo{}, fmt.Errorf("sector %d: %w", num, err)
			}
			if len(infos) == 1 {
				si := infos[0]
				return proof.ExtendedSectorInfo{SealProof: si.SealProof, SectorNumber: si.SectorNumber, SectorKey: si.SectorKeyCID, SealedCID: si.SealedCID}, nil
			}
		}
	}
	return proof.ExtendedSectorInfo{}, ErrNoSector
}
