package simchain

import (
	"context"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// errActorNotFound is Lotus's types.ErrActorNotFound text.
var errActorNotFound = errors.New("actor not found")

// ChainHead is the head tipset.
func (c *Chain) ChainHead(ctx context.Context) (*chain.TipSet, error) {
	if err := c.enter("ChainHead"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tipSetAt(c.st.head), nil
}

// StateGetNetworkParams reports the chain's parameters as Lotus does.
func (c *Chain) StateGetNetworkParams(ctx context.Context) (*chain.NetworkParams, error) {
	if err := c.enter("StateGetNetworkParams"); err != nil {
		return nil, err
	}
	return c.networkParams(), nil
}

// StateNetworkVersion is the network version at the tipset (the same at every height).
func (c *Chain) StateNetworkVersion(ctx context.Context, tsk chain.TipSetKey) (network.Version, error) {
	if err := c.enter("StateNetworkVersion"); err != nil {
		return network.VersionMax, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return network.VersionMax, err
	}
	return c.opts.NetworkVersion, nil
}

// minerLocked finds a miner actor by its ID address, failing as Lotus does for a missing one.
func (c *Chain) minerLocked(maddr address.Address) (*minerState, error) {
	id, err := address.IDFromAddress(maddr)
	if err == nil {
		if m := c.st.miners[abi.ActorID(id)]; m != nil {
			return m, nil
		}
	}
	return nil, fmt.Errorf("failed to load miner actor: %w", errActorNotFound)
}

// postProof is the miner's WindowPoSt proof type at the chain's network version (V1_1 from
// nv19 on, as the nv19 migration set it for every miner).
func (c *Chain) postProof(seal abi.RegisteredSealProof) (abi.RegisteredPoStProof, error) {
	return seal.RegisteredWindowPoStProofByNetworkVersion(c.opts.NetworkVersion)
}

// StateMinerInfo is the miner's info; owner, worker and controls are ID addresses, as the
// actor stores them.
func (c *Chain) StateMinerInfo(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) (chain.MinerInfo, error) {
	if err := c.enter("StateMinerInfo"); err != nil {
		return chain.MinerInfo{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return chain.MinerInfo{}, fmt.Errorf("failed to load tipset: %w", err)
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return chain.MinerInfo{}, err
	}
	post, err := c.postProof(m.proof)
	if err != nil {
		return chain.MinerInfo{}, err
	}
	partition, err := builtin.PoStProofWindowPoStPartitionSectors(post)
	if err != nil {
		return chain.MinerInfo{}, err
	}
	owner := mustID(c.st.keyToID[m.owner])
	var controls []address.Address // null when none, as Lotus decodes an empty list
	for _, k := range m.controls {
		controls = append(controls, mustID(c.st.keyToID[k]))
	}
	return chain.MinerInfo{
		Owner:                      owner,
		Worker:                     mustID(c.st.keyToID[m.worker]),
		NewWorker:                  address.Undef,
		ControlAddresses:           controls,
		WorkerChangeEpoch:          -1,
		WindowPoStProofType:        post,
		SectorSize:                 m.size,
		WindowPoStPartitionSectors: partition,
		ConsensusFaultElapsed:      -1,
		Beneficiary:                owner,
		BeneficiaryTerm:            &chain.BeneficiaryTerm{Quota: big.Zero(), UsedQuota: big.Zero(), Expiration: 0},
	}, nil
}

// provingPeriodStart is the start of the miner's proving period that contains h. Each miner
// has a fixed offset in the period, derived from its id as the actor derives it from its
// address, so miners' deadlines do not all line up.
func (c *Chain) provingPeriodStart(actor abi.ActorID, h abi.ChainEpoch) abi.ChainEpoch {
	period := miner.WPoStProvingPeriod
	offset := abi.ChainEpoch(uint64(actor)*7919) % period
	delta := (h - offset) % period
	if delta < 0 {
		delta += period
	}
	return h - delta
}

// StateMinerProvingDeadline is the miner's current deadline, built with the v16 policy.
func (c *Chain) StateMinerProvingDeadline(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) (*dline.Info, error) {
	if err := c.enter("StateMinerProvingDeadline"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.heightOfLocked(tsk)
	if err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	start := c.provingPeriodStart(m.actor, h)
	idx := uint64((h - start) / miner.WPoStChallengeWindow)
	return dline.NewInfo(start, idx, h, miner.WPoStPeriodDeadlines, miner.WPoStProvingPeriod,
		miner.WPoStChallengeWindow, miner.WPoStChallengeLookback, miner.FaultDeclarationCutoff).NextNotElapsed(), nil
}

// StateMinerSectorAllocated tells whether the sector number was ever pre-committed.
func (c *Chain) StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (bool, error) {
	if err := c.enter("StateMinerSectorAllocated"); err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return false, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return false, err
	}
	_, ok := m.allocated[num]
	return ok, nil
}

// StateGetRandomnessFromTickets is chain randomness; an epoch above the tipset is an error.
func (c *Chain) StateGetRandomnessFromTickets(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error) {
	if err := c.enter("StateGetRandomnessFromTickets"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.heightOfLocked(tsk)
	if err != nil {
		return nil, err
	}
	if epoch > h {
		return nil, errors.New("failed to get chain randomness: cannot draw randomness from the future")
	}
	return c.ticketRandomness(dst, epoch, entropy), nil
}

// StateGetRandomnessFromBeacon is beacon randomness; an epoch above the tipset is an error.
func (c *Chain) StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error) {
	if err := c.enter("StateGetRandomnessFromBeacon"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.heightOfLocked(tsk)
	if err != nil {
		return nil, err
	}
	if epoch > h {
		return nil, errors.New("failed to get beacon randomness: cannot draw randomness from the future")
	}
	return c.beaconRandomness(dst, epoch, entropy), nil
}

// StateSectorPreCommitInfo is the sector's pre-commit, or nil and no error.
func (c *Chain) StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*miner.SectorPreCommitOnChainInfo, error) {
	if err := c.enter("StateSectorPreCommitInfo"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	if pc := m.precommits[num]; pc != nil {
		return clonePreCommit(pc), nil
	}
	return nil, nil
}

// StateSectorGetInfo is the proven sector's info, or nil and no error.
func (c *Chain) StateSectorGetInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*chain.SectorOnChainInfo, error) {
	if err := c.enter("StateSectorGetInfo"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	if s := m.sectors[num]; s != nil {
		return cloneSector(s), nil
	}
	return nil, nil
}

// StateMinerPreCommitDepositForPower is 110% of ExactPreCommitDeposit, as Lotus overestimates.
func (c *Chain) StateMinerPreCommitDepositForPower(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk chain.TipSetKey) (big.Int, error) {
	if err := c.enter("StateMinerPreCommitDepositForPower"); err != nil {
		return big.Int{}, err
	}
	return c.estimate(pci.SealProof, tsk, ExactPreCommitDeposit)
}

// StateMinerInitialPledgeCollateral is 110% of ExactInitialPledge, as Lotus overestimates.
func (c *Chain) StateMinerInitialPledgeCollateral(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk chain.TipSetKey) (big.Int, error) {
	if err := c.enter("StateMinerInitialPledgeCollateral"); err != nil {
		return big.Int{}, err
	}
	return c.estimate(pci.SealProof, tsk, ExactInitialPledge)
}

func (c *Chain) estimate(proof abi.RegisteredSealProof, tsk chain.TipSetKey, exact func(abi.SectorSize) abi.TokenAmount) (big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return big.Int{}, err
	}
	size, err := proof.SectorSize()
	if err != nil {
		return big.Int{}, fmt.Errorf("failed to resolve sector size for seal proof: %w", err)
	}
	return big.Div(big.Mul(exact(size), big.NewInt(110)), big.NewInt(100)), nil
}

// ExactPreCommitDeposit is the deposit the actor locks per pre-committed sector: 10^12 attoFIL
// per KiB of sector size (2KiB → 2×10^12, 32GiB → 33.55 FIL).
func ExactPreCommitDeposit(size abi.SectorSize) abi.TokenAmount {
	return big.Mul(big.NewIntUnsigned(uint64(size)/1024), big.NewInt(1_000_000_000_000))
}

// ExactInitialPledge is the pledge the actor locks per activated sector: twice the deposit.
func ExactInitialPledge(size abi.SectorSize) abi.TokenAmount {
	return big.Mul(ExactPreCommitDeposit(size), big.NewInt(2))
}
