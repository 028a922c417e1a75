// Package proving reads what WindowPoSt needs to know: whether a sector's files in the persist
// stores can be proven (the scheduler's check before each proof, and Venus.CheckProvable), and a
// miner's deadlines and partitions on chain (Venus.ProvingInfo, for `util sealer proving`).
package proving

import (
	"context"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
)

// Locator finds a sector's persisted files (persist.Manager).
type Locator interface {
	Locate(sid abi.SectorID, upgrade bool) (persist.SectorFiles, bool, error)
}

// CheckSector finds a sector's files through the sector index and checks them (strict: read a
// byte of each, not only stat it); an upgraded sector is checked in its update files.
func CheckSector(stores Locator, sid abi.SectorID, sp abi.RegisteredSealProof, upgrade, strict bool) (persist.SectorFiles, error) {
	files, found, err := stores.Locate(sid, upgrade)
	if err != nil {
		return persist.SectorFiles{}, err
	}
	if !found {
		return persist.SectorFiles{}, errors.New("not in the sector index (never persisted)")
	}
	size, err := sp.SectorSize()
	if err != nil {
		return persist.SectorFiles{}, err
	}
	if err := persist.CheckSectorFiles(files.SealedStore.Path, files.CacheStore.Path, sid, size, upgrade, strict); err != nil {
		return persist.SectorFiles{}, err
	}
	return files, nil
}

// Reader answers the proving methods of the manager.
type Reader struct {
	Chain  chain.FullNode
	Stores Locator
}

// CheckProvable maps each of the sectors whose files are not provable to the reason.
func (r *Reader) CheckProvable(ctx context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error) {
	bad := map[abi.SectorNumber]string{}
	for _, s := range sectors {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sid := abi.SectorID{Miner: mid, Number: s.SectorNumber}
		if _, err := CheckSector(r.Stores, sid, s.SealProof, s.SectorKey != nil, strict); err != nil {
			bad[s.SectorNumber] = err.Error()
		}
	}
	return bad, nil
}

// Info reads the miner's current deadline and all its deadlines' partitions at the head; the
// partitions of deadline *dlIdx also list their live sectors.
func (r *Reader) Info(ctx context.Context, mid abi.ActorID, dlIdx *uint64) (*api.ProvingInfo, error) {
	if dlIdx != nil && *dlIdx >= miner.WPoStPeriodDeadlines {
		return nil, fmt.Errorf("deadline index %d is out of range: a proving period has %d deadlines, 0 to %d",
			*dlIdx, miner.WPoStPeriodDeadlines, miner.WPoStPeriodDeadlines-1)
	}
	maddr, err := address.NewIDAddress(uint64(mid))
	if err != nil {
		return nil, err
	}
	head, err := r.Chain.ChainHead(ctx)
	if err != nil {
		return nil, err
	}
	params, err := r.Chain.StateGetNetworkParams(ctx)
	if err != nil {
		return nil, err
	}
	tsk := head.Key()
	di, err := r.Chain.StateMinerProvingDeadline(ctx, maddr, tsk)
	if err != nil {
		return nil, err
	}
	dls, err := r.Chain.StateMinerDeadlines(ctx, maddr, tsk)
	if err != nil {
		return nil, err
	}
	info := &api.ProvingInfo{Miner: mid, BlockDelaySecs: params.BlockDelaySecs, Deadline: *di}
	if len(head.Blocks) > 0 {
		info.HeadTimestamp = head.Blocks[0].Timestamp
	}
	for idx, dl := range dls {
		parts, err := r.partitions(ctx, maddr, uint64(idx), dlIdx != nil && *dlIdx == uint64(idx), tsk)
		if err != nil {
			return nil, err
		}
		info.Deadlines = append(info.Deadlines, api.ProvingDeadline{PostSubmissions: dl.PostSubmissions, Partitions: parts})
	}
	return info, nil
}

func (r *Reader) partitions(ctx context.Context, maddr address.Address, idx uint64, withSectors bool, tsk chain.TipSetKey) ([]api.ProvingPartition, error) {
	parts, err := r.Chain.StateMinerPartitions(ctx, maddr, idx, tsk)
	if err != nil {
		return nil, fmt.Errorf("partitions of deadline %d: %w", idx, err)
	}
	out := make([]api.ProvingPartition, 0, len(parts))
	for _, p := range parts {
		pp := api.ProvingPartition{Partition: p}
		if withSectors {
			infos, err := r.Chain.StateMinerSectors(ctx, maddr, &p.LiveSectors, tsk)
			if err != nil {
				return nil, fmt.Errorf("sectors of deadline %d: %w", idx, err)
			}
			for _, si := range infos {
				pp.Sectors = append(pp.Sectors, proof.ExtendedSectorInfo{SealProof: si.SealProof, SectorNumber: si.SectorNumber,
					SectorKey: si.SectorKeyCID, SealedCID: si.SealedCID})
			}
		}
		out = append(out, pp)
	}
	return out, nil
}
