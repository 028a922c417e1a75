package simchain

import (
	"sort"

	commp "github.com/filecoin-project/go-commp-utils/v2"
	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// The pre-commit methods of the miner actor.

func canPreCommit(p abi.RegisteredSealProof) bool {
	switch p {
	case abi.RegisteredSealProof_StackedDrg2KiBV1_1, abi.RegisteredSealProof_StackedDrg8MiBV1_1,
		abi.RegisteredSealProof_StackedDrg512MiBV1_1, abi.RegisteredSealProof_StackedDrg32GiBV1_1,
		abi.RegisteredSealProof_StackedDrg64GiBV1_1,
		abi.RegisteredSealProof_StackedDrg2KiBV1_1_Feat_SyntheticPoRep, abi.RegisteredSealProof_StackedDrg8MiBV1_1_Feat_SyntheticPoRep,
		abi.RegisteredSealProof_StackedDrg512MiBV1_1_Feat_SyntheticPoRep, abi.RegisteredSealProof_StackedDrg32GiBV1_1_Feat_SyntheticPoRep,
		abi.RegisteredSealProof_StackedDrg64GiBV1_1_Feat_SyntheticPoRep:
		return true
	}
	return false
}

func isSealedCid(c cid.Cid) bool {
	if !c.Defined() {
		return false
	}
	p := c.Prefix()
	return p.Version == 1 && p.Codec == cid.FilCommitmentSealed && p.MhType == multihash.POSEIDON_BLS12_381_A1_FC1 && p.MhLength == 32
}

func isUnsealedCid(c cid.Cid) bool {
	if !c.Defined() {
		return false
	}
	p := c.Prefix()
	return p.Version == 1 && p.Codec == cid.FilCommitmentUnsealed && p.MhType == multihash.SHA2_256_TRUNC254_PADDED && p.MhLength == 32
}

// validateExpiration is the actor's validate_expiration. A pre-commit is checked with the
// latest activation its proof allows (now + max prove-commit duration):
//
//	expiration > activation
//	expiration - activation >= MinSectorExpiration (180 days)
//	expiration <= now + MaxSectorExpirationExtension (1278 days)
//	expiration - activation <= the seal proof's maximum lifetime (5 years for V1_1)
func validateExpiration(now, activation, expiration abi.ChainEpoch, sp abi.RegisteredSealProof) *actorError {
	if expiration <= activation {
		return illegalArgument("sector expiration %d must be after activation %d", expiration, activation)
	}
	if expiration-activation < miner.MinSectorExpiration {
		return illegalArgument("invalid expiration %d, total sector lifetime (%d) must exceed %d after activation %d",
			expiration, expiration-activation, miner.MinSectorExpiration, activation)
	}
	if expiration > now+miner.MaxSectorExpirationExtension {
		return illegalArgument("invalid expiration %d, cannot be more than %d past current epoch %d",
			expiration, miner.MaxSectorExpirationExtension, now)
	}
	policy, ok := builtin.SealProofPoliciesV11[sp]
	if !ok {
		return illegalArgument("unrecognized seal proof type %d", sp)
	}
	if expiration-activation > policy.SectorMaxLifetime {
		return illegalArgument("invalid expiration %d, total sector lifetime (%d) cannot exceed %d after activation %d",
			expiration, expiration-activation, policy.SectorMaxLifetime, activation)
	}
	return nil
}

// legacyPreCommit runs PreCommitSector and PreCommitSectorBatch: their CommD is the one the
// market computes from the deals (none: zero data).
func (x *exec) legacyPreCommit(params []miner.PreCommitSectorParams) *actorError {
	infos := make([]miner.SectorPreCommitInfo, len(params))
	for i, p := range params {
		if p.ReplaceCapacity {
			return illegalArgument("cc upgrade through precommit discontinued, use lightweight cc upgrade instead")
		}
		infos[i] = miner.SectorPreCommitInfo{
			SealProof: p.SealProof, SectorNumber: p.SectorNumber, SealedCID: p.SealedCID,
			SealRandEpoch: p.SealRandEpoch, DealIDs: p.DealIDs, Expiration: p.Expiration,
		}
		if len(p.DealIDs) > 0 {
			commD, aerr := x.verifyDeals(&infos[i])
			if aerr != nil {
				return aerr
			}
			infos[i].UnsealedCid = &commD
		}
	}
	return x.preCommit(infos, false)
}

// preCommit is the actor's pre_commit_sector_batch_inner: every check passes or nothing changes.
// checkCommD compares a declared CommD with the deals' (PreCommitSectorBatch2).
func (x *exec) preCommit(pcs []miner.SectorPreCommitInfo, checkCommD bool) *actorError {
	if len(pcs) == 0 {
		return illegalArgument("batch empty")
	}
	challengeEarliest := x.h - miner.MaxPreCommitRandomnessLookback
	seen := map[abi.SectorNumber]bool{}
	for _, pc := range pcs {
		if seen[pc.SectorNumber] {
			return illegalArgument("duplicate sector number %d", pc.SectorNumber)
		}
		seen[pc.SectorNumber] = true
		if !canPreCommit(pc.SealProof) {
			return illegalArgument("unsupported seal proof type %d", pc.SealProof)
		}
		if uint64(pc.SectorNumber) > abi.MaxSectorNumber {
			return illegalArgument("sector number %d out of range 0..(2^63-1)", pc.SectorNumber)
		}
		if !isSealedCid(pc.SealedCID) {
			return illegalArgument("sealed CID had wrong prefix")
		}
		if pc.SealRandEpoch >= x.h {
			return illegalArgument("seal challenge epoch %d must be before now %d", pc.SealRandEpoch, x.h)
		}
		if pc.SealRandEpoch < challengeEarliest {
			return illegalArgument("seal challenge epoch %d too old, must be after %d", pc.SealRandEpoch, challengeEarliest)
		}
		if pc.UnsealedCid != nil && !isUnsealedCid(*pc.UnsealedCid) {
			return illegalArgument("unsealed CID had wrong prefix")
		}
		if aerr := validateExpiration(x.h, x.h+x.c.maxProveCommitDuration(), pc.Expiration, pc.SealProof); aerr != nil {
			return aerr
		}
	}
	computed := make([]*cid.Cid, len(pcs))
	for i := range pcs {
		if len(pcs[i].DealIDs) == 0 {
			continue
		}
		commD, aerr := x.verifyDeals(&pcs[i])
		if aerr != nil {
			return aerr
		}
		computed[i] = &commD
	}
	if aerr := x.checkCaller(); aerr != nil {
		return aerr
	}
	minerPost, err := x.c.postProof(x.m.proof)
	if err != nil {
		return fail(exitcode.ErrIllegalState, "miner seal proof %d: %v", x.m.proof, err)
	}
	deposit := ExactPreCommitDeposit(x.m.size)
	for i, pc := range pcs {
		post, err := x.c.postProof(pc.SealProof)
		if err != nil {
			return illegalArgument("failed to lookup Window PoSt proof type for sector seal proof %d", pc.SealProof)
		}
		if post != minerPost {
			return illegalArgument("sector Window PoSt proof type %d must match miner Window PoSt proof type %d (seal proof type %d)", post, minerPost, pc.SealProof)
		}
		if dealsMax := dealsMaxForSize(x.m.size); uint64(len(pc.DealIDs)) > dealsMax {
			return illegalArgument("too many deals for sector %d > %d", len(pc.DealIDs), dealsMax)
		}
		if checkCommD && computed[i] != nil {
			declared, err := commDOrZero(pc.UnsealedCid, pc.SealProof)
			if err != nil {
				return illegalArgument("%v", err)
			}
			if !declared.Equals(*computed[i]) {
				return illegalArgument("computed %s and passed %s CommDs not equal", *computed[i], declared)
			}
		}
	}
	total := big.Mul(deposit, big.NewInt(int64(len(pcs))))
	if available := big.Add(x.m.available(), x.value); available.LessThan(total) {
		return fail(exitcode.ErrInsufficientFunds, "insufficient funds %s for pre-commit deposit: %s", available, total)
	}
	var taken []abi.SectorNumber
	for _, pc := range pcs {
		if _, ok := x.m.allocated[pc.SectorNumber]; ok {
			taken = append(taken, pc.SectorNumber)
		}
	}
	if len(taken) > 0 {
		sort.Slice(taken, func(i, j int) bool { return taken[i] < taken[j] })
		return illegalArgument("sector numbers %v already allocated", taken)
	}

	x.m.balance = big.Add(x.m.balance, x.value)
	x.m.precommitDeposits = big.Add(x.m.precommitDeposits, total)
	for _, pc := range pcs {
		info := pc
		info.DealIDs = append([]abi.DealID(nil), pc.DealIDs...)
		info.UnsealedCid = cloneCid(pc.UnsealedCid)
		x.m.allocated[pc.SectorNumber] = struct{}{}
		x.m.precommits[pc.SectorNumber] = &miner.SectorPreCommitOnChainInfo{Info: info, PreCommitDeposit: deposit, PreCommitEpoch: x.h}
	}
	return nil
}

// dealsMaxForSize is the actor's sector_deals_max: max(256, size / 2^27).
func dealsMaxForSize(size abi.SectorSize) uint64 {
	return max(256, uint64(size)/134217728)
}

func zeroCommD(sp abi.RegisteredSealProof) (cid.Cid, error) {
	size, err := sp.SectorSize()
	if err != nil {
		return cid.Undef, err
	}
	return zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(size).Unpadded()), nil
}

// commDOrZero is a CompactCommD made full: nil means the sector holds no data.
func commDOrZero(c *cid.Cid, sp abi.RegisteredSealProof) (cid.Cid, error) {
	if c != nil {
		return *c, nil
	}
	return zeroCommD(sp)
}

// commDFromPieces is the sector's CommD for its pieces, zero-padded to the sector size.
func commDFromPieces(sp abi.RegisteredSealProof, pieces []abi.PieceInfo) (cid.Cid, error) {
	if len(pieces) == 0 {
		return zeroCommD(sp)
	}
	size, err := sp.SectorSize()
	if err != nil {
		return cid.Undef, err
	}
	agg, aggSize, err := commp.PieceAggregateCommP(sp, pieces)
	if err != nil {
		return cid.Undef, err
	}
	if uint64(aggSize) == uint64(size) {
		return agg, nil
	}
	return commp.ZeroPadPieceCommitment(agg, aggSize.Unpadded(), abi.PaddedPieceSize(size).Unpadded())
}

// verifyDeals is the market's check of a pre-commit's deals; it gives their CommD.
func (x *exec) verifyDeals(pc *miner.SectorPreCommitInfo) (cid.Cid, *actorError) {
	pieces := make([]abi.PieceInfo, 0, len(pc.DealIDs))
	for _, id := range pc.DealIDs {
		d := x.c.st.deals[id]
		if d == nil {
			return cid.Undef, fail(exitcode.ErrNotFound, "no such deal %d", id)
		}
		p := d.proposal
		if p.Provider != x.minerAddress() {
			return cid.Undef, fail(exitcode.ErrForbidden, "proposal has provider %s, must be %s", p.Provider, x.minerAddress())
		}
		if x.h >= p.StartEpoch {
			return cid.Undef, illegalArgument("proposal start epoch %d has already elapsed at %d", p.StartEpoch, x.h)
		}
		if p.EndEpoch > pc.Expiration {
			return cid.Undef, illegalArgument("proposal expiration %d exceeds sector expiration %d", p.EndEpoch, pc.Expiration)
		}
		if d.activated {
			return cid.Undef, illegalArgument("deal %d already activated", id)
		}
		pieces = append(pieces, abi.PieceInfo{Size: p.PieceSize, PieceCID: p.PieceCID})
	}
	commD, err := commDFromPieces(pc.SealProof, pieces)
	if err != nil {
		return cid.Undef, illegalArgument("failed to compute unsealed sector CID: %v", err)
	}
	return commD, nil
}
