package simchain

import (
	"bytes"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/batch"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// The prove-commit methods of the miner actor.

// sealInput is what a seal proof of a pre-committed sector is verified against.
type sealInput struct {
	number   abi.SectorNumber
	ticket   abi.SealRandomness
	seed     abi.InteractiveSealRandomness
	sealed   cid.Cid
	unsealed cid.Cid
}

func (x *exec) loadPreCommits(nums []abi.SectorNumber) ([]*miner.SectorPreCommitOnChainInfo, *actorError) {
	out := make([]*miner.SectorPreCommitOnChainInfo, len(nums))
	seen := map[abi.SectorNumber]bool{}
	for i, n := range nums {
		if uint64(n) > abi.MaxSectorNumber {
			return nil, illegalArgument("sector number greater than maximum")
		}
		if seen[n] {
			return nil, illegalArgument("duplicate sector number %d", n)
		}
		seen[n] = true
		pc := x.m.precommits[n]
		if pc == nil {
			return nil, fail(exitcode.ErrNotFound, "sector %d not found", n)
		}
		out[i] = pc
	}
	return out, nil
}

// entropy is what the actor mixes into a sector's randomness: the CBOR of its own address.
func (x *exec) entropy() []byte {
	var buf bytes.Buffer
	addr := x.minerAddress()
	if err := addr.MarshalCBOR(&buf); err != nil {
		panic(err) // an ID address always serialises
	}
	return buf.Bytes()
}

// validatePreCommits is the actor's validate_precommits: it gives the proof inputs of every
// pre-commit (an aggregate needs them all as witnesses) and which may be activated.
func (x *exec) validatePreCommits(pcs []*miner.SectorPreCommitOnChainInfo, allowDeals, allOrNothing bool) ([]sealInput, []bool, *actorError) {
	inputs := make([]sealInput, len(pcs))
	valid := make([]bool, len(pcs))
	entropy := x.entropy()
	for i, pc := range pcs {
		why := ""
		if !allowDeals && len(pc.Info.DealIDs) > 0 {
			why = "pre-commit has deal ids, which ProveCommitSectors3 does not activate"
		}
		if due := pc.PreCommitEpoch + x.c.maxProveCommitDuration(); x.h > due {
			why = fmt.Sprintf("too late at %d, due %d", x.h, due)
		}
		if i > 0 && pcs[i-1].Info.SealProof != pc.Info.SealProof {
			return nil, nil, fail(exitcode.ErrIllegalState, "seal proof group for verification contains mismatched seal proofs %d and %d", pcs[i-1].Info.SealProof, pc.Info.SealProof)
		}
		interactive := pc.PreCommitEpoch + x.c.opts.PreCommitChallengeDelay
		if x.h <= interactive {
			return nil, nil, fail(exitcode.ErrForbidden, "too early to prove sector %d: seed epoch %d, now %d", pc.Info.SectorNumber, interactive, x.h)
		}
		unsealed, err := commDOrZero(pc.Info.UnsealedCid, pc.Info.SealProof)
		if err != nil {
			return nil, nil, fail(exitcode.ErrIllegalState, "%v", err)
		}
		inputs[i] = sealInput{
			number:   pc.Info.SectorNumber,
			ticket:   abi.SealRandomness(x.c.ticketRandomness(crypto.DomainSeparationTag_SealRandomness, pc.Info.SealRandEpoch, entropy)),
			seed:     abi.InteractiveSealRandomness(x.c.beaconRandomness(crypto.DomainSeparationTag_InteractiveSealChallengeSeed, interactive, entropy)),
			sealed:   pc.Info.SealedCID,
			unsealed: unsealed,
		}
		if why == "" {
			valid[i] = true
			continue
		}
		if allOrNothing {
			return nil, nil, illegalArgument("invalid pre-commit %d while requiring activation success: sector %d: %s", i, pc.Info.SectorNumber, why)
		}
		log.Warnw("skipping commitment", "miner", x.m.actor, "sector", pc.Info.SectorNumber, "reason", why)
	}
	if count(valid) == 0 {
		return nil, nil, illegalArgument("no valid precommits specified")
	}
	return inputs, valid, nil
}

func count(flags []bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

func (x *exec) verifySeal(in sealInput, sp abi.RegisteredSealProof, proofBytes []byte) bool {
	ok, err := x.c.opts.Verifier.VerifySeal(proof.SealVerifyInfo{
		SealProof:             sp,
		SectorID:              abi.SectorID{Miner: x.m.actor, Number: in.number},
		Randomness:            in.ticket,
		InteractiveRandomness: in.seed,
		Proof:                 proofBytes,
		SealedCID:             in.sealed,
		UnsealedCID:           in.unsealed,
	})
	if err != nil {
		log.Warnw("seal verification error", "miner", x.m.actor, "sector", in.number, "error", err)
	}
	return err == nil && ok
}

// verifyAggregate checks an aggregate proof over inputs in the order given.
func (x *exec) verifyAggregate(inputs []sealInput, sp abi.RegisteredSealProof, aggProof []byte) *actorError {
	infos := make([]proof.AggregateSealVerifyInfo, len(inputs))
	for i, in := range inputs {
		infos[i] = proof.AggregateSealVerifyInfo{Number: in.number, Randomness: in.ticket, InteractiveRandomness: in.seed, SealedCID: in.sealed, UnsealedCID: in.unsealed}
	}
	ok, err := x.c.opts.Verifier.VerifyAggregateSeals(proof.AggregateSealVerifyProofAndInfos{
		Miner: x.m.actor, SealProof: sp, AggregateProof: abi.RegisteredAggregationProof_SnarkPackV2, Proof: aggProof, Infos: infos,
	})
	if err != nil {
		return illegalArgument("aggregate seal verify failed: %v", err)
	}
	if !ok {
		return illegalArgument("aggregate seal verify failed: invalid aggregate proof")
	}
	return nil
}

func validateAggregateSize(aggProof []byte, n int) *actorError {
	if n > miner.MaxAggregatedSectors {
		return illegalArgument("too many sectors addressed, addressed %d want <= %d", n, miner.MaxAggregatedSectors)
	}
	if n < miner.MinAggregatedSectors {
		return illegalArgument("too few sectors addressed, addressed %d want >= %d", n, miner.MinAggregatedSectors)
	}
	if len(aggProof) > miner.MaxAggregateProofSize {
		return illegalArgument("sector prove-commit proof of size %d exceeds max size of %d", len(aggProof), miner.MaxAggregateProofSize)
	}
	return nil
}

func validateProofSizes(sp abi.RegisteredSealProof, proofs [][]byte) *actorError {
	maxSize, err := sp.ProofSize()
	if err != nil {
		return fail(exitcode.ErrIllegalState, "failed to determine max proof size for type %d", sp)
	}
	for _, p := range proofs {
		if uint64(len(p)) > maxSize {
			return illegalArgument("sector proof size %d exceeds max %d", len(p), maxSize)
		}
	}
	return nil
}

// activation is a proven sector about to go on chain, with the space of its data.
type activation struct {
	pc         *miner.SectorPreCommitOnChainInfo
	unverified abi.PaddedPieceSize
	verified   abi.PaddedPieceSize
}

func (x *exec) proveCommitSectors3(p *miner.ProveCommitSectors3Params) ([]byte, *actorError) {
	if aerr := x.checkCaller(); aerr != nil {
		return nil, aerr
	}
	nums := make([]abi.SectorNumber, len(p.SectorActivations))
	for i, a := range p.SectorActivations {
		nums[i] = a.SectorNumber
	}
	pcs, aerr := x.loadPreCommits(nums)
	if aerr != nil {
		return nil, aerr
	}
	if len(pcs) == 0 {
		return nil, illegalArgument("no sectors to prove")
	}
	if (len(p.SectorProofs) == 0) == (len(p.AggregateProof) == 0) {
		return nil, illegalArgument("exactly one of sector proofs or aggregate proof must be non-empty")
	}
	sp := pcs[0].Info.SealProof
	batched := len(p.SectorProofs) > 0
	if batched {
		if p.AggregateProofType != nil {
			return nil, illegalArgument("aggregate proof type must be null with batched proofs")
		}
		if len(p.SectorProofs) != len(p.SectorActivations) {
			return nil, illegalArgument("mismatched lengths: %d sector activations, %d proofs", len(p.SectorActivations), len(p.SectorProofs))
		}
		if aerr := validateProofSizes(sp, p.SectorProofs); aerr != nil {
			return nil, aerr
		}
	} else {
		if p.AggregateProofType == nil || *p.AggregateProofType != abi.RegisteredAggregationProof_SnarkPackV2 {
			return nil, illegalArgument("aggregate proof type must be SnarkPackV2")
		}
		if aerr := validateAggregateSize(p.AggregateProof, len(pcs)); aerr != nil {
			return nil, aerr
		}
	}
	inputs, valid, aerr := x.validatePreCommits(pcs, false, p.RequireActivationSuccess)
	if aerr != nil {
		return nil, aerr
	}
	proven := append([]bool(nil), valid...)
	if batched {
		for i := range pcs {
			if !valid[i] || x.verifySeal(inputs[i], sp, p.SectorProofs[i]) {
				continue
			}
			if p.RequireActivationSuccess {
				return nil, illegalArgument("invalid proof for sector %d while requiring activation success", pcs[i].Info.SectorNumber)
			}
			log.Warnw("invalid seal proof", "miner", x.m.actor, "sector", pcs[i].Info.SectorNumber)
			proven[i] = false
		}
	} else if aerr := x.verifyAggregate(inputs, sp, p.AggregateProof); aerr != nil {
		return nil, aerr
	}
	if count(proven) == 0 {
		return nil, illegalArgument("no valid proofs specified")
	}

	var acts []activation
	for i, a := range p.SectorActivations {
		if !proven[i] {
			continue
		}
		act, aerr := pieceActivation(pcs[i], a.Pieces)
		if aerr != nil {
			return nil, aerr
		}
		acts = append(acts, act)
	}
	if aerr := x.activate(acts); aerr != nil {
		return nil, aerr
	}
	ret := batchReturn(proven)
	var buf bytes.Buffer
	if err := ret.MarshalCBOR(&buf); err != nil {
		return nil, fail(exitcode.ErrSerialization, "serialise return: %v", err)
	}
	return buf.Bytes(), nil
}

// pieceActivation checks that the pieces make the CommD the sector was pre-committed with (no
// pieces: zero data), as activate_sectors_pieces does.
func pieceActivation(pc *miner.SectorPreCommitOnChainInfo, pieces []miner.PieceActivationManifest) (activation, *actorError) {
	act := activation{pc: pc}
	infos := make([]abi.PieceInfo, len(pieces))
	for i, piece := range pieces {
		infos[i] = abi.PieceInfo{Size: piece.Size, PieceCID: piece.CID}
		if piece.VerifiedAllocationKey != nil {
			act.verified += piece.Size
		} else {
			act.unverified += piece.Size
		}
	}
	computed, err := commDFromPieces(pc.Info.SealProof, infos)
	if err != nil {
		return act, illegalArgument("failed to compute unsealed CID of sector %d: %v", pc.Info.SectorNumber, err)
	}
	declared, err := commDOrZero(pc.Info.UnsealedCid, pc.Info.SealProof)
	if err != nil {
		return act, fail(exitcode.ErrIllegalState, "%v", err)
	}
	if !declared.Equals(computed) {
		return act, illegalArgument("unsealed CID does not match pieces for sector %d, computed %s declared %s", pc.Info.SectorNumber, computed, declared)
	}
	return act, nil
}

// batchReturn says which activations succeeded; the failures are USR_ILLEGAL_ARGUMENT, as the
// actor reports skipped pre-commits and invalid proofs.
func batchReturn(ok []bool) batch.BatchReturn {
	ret := batch.BatchReturn{FailCodes: []batch.FailCode{}}
	for i, o := range ok {
		if o {
			ret.SuccessCount++
		} else {
			ret.FailCodes = append(ret.FailCodes, batch.FailCode{Idx: uint64(i), Code: exitcode.ErrIllegalArgument})
		}
	}
	return ret
}

// dealActivation is the market's activation of a pre-commit's deals: their space, or why not.
func (x *exec) dealActivation(pc *miner.SectorPreCommitOnChainInfo) (activation, string) {
	act := activation{pc: pc}
	for _, id := range pc.Info.DealIDs {
		d := x.c.st.deals[id]
		switch {
		case d == nil:
			return act, fmt.Sprintf("deal %d not found", id)
		case d.activated:
			return act, fmt.Sprintf("deal %d already activated", id)
		case x.h > d.proposal.StartEpoch:
			return act, fmt.Sprintf("deal %d start epoch %d has passed", id, d.proposal.StartEpoch)
		case d.proposal.VerifiedDeal:
			act.verified += d.proposal.PieceSize
		default:
			act.unverified += d.proposal.PieceSize
		}
	}
	return act, ""
}

func (x *exec) proveCommitAggregate(p *miner.ProveCommitAggregateParams) *actorError {
	if aerr := x.checkCaller(); aerr != nil {
		return aerr
	}
	raw, err := p.SectorNumbers.All(miner.AddressedSectorsMax)
	if err != nil {
		return illegalArgument("failed to validate bitfield of sector numbers: %v", err)
	}
	if len(raw) == 0 {
		return illegalArgument("no sectors")
	}
	if aerr := validateAggregateSize(p.AggregateProof, len(raw)); aerr != nil {
		return aerr
	}
	nums := make([]abi.SectorNumber, len(raw))
	for i, n := range raw {
		nums[i] = abi.SectorNumber(n)
	}
	pcs, aerr := x.loadPreCommits(nums)
	if aerr != nil {
		return aerr
	}
	inputs, valid, aerr := x.validatePreCommits(pcs, true, false)
	if aerr != nil {
		return aerr
	}
	if aerr := x.verifyAggregate(inputs, pcs[0].Info.SealProof, p.AggregateProof); aerr != nil {
		return aerr
	}
	var acts []activation
	for i, pc := range pcs {
		if !valid[i] {
			continue
		}
		act, why := x.dealActivation(pc)
		if why != "" {
			log.Warnw("skipping activation", "miner", x.m.actor, "sector", pc.Info.SectorNumber, "reason", why)
			continue
		}
		acts = append(acts, act)
	}
	if len(acts) == 0 {
		return illegalArgument("all prove commits failed to validate")
	}
	return x.activate(acts)
}

func (x *exec) proveCommitSector(p *miner.ProveCommitSectorParams) *actorError {
	pc := x.m.precommits[p.SectorNumber]
	if pc == nil {
		return fail(exitcode.ErrNotFound, "no pre-committed sector %d", p.SectorNumber)
	}
	if aerr := validateProofSizes(pc.Info.SealProof, [][]byte{p.Proof}); aerr != nil {
		return aerr
	}
	inputs, _, aerr := x.validatePreCommits([]*miner.SectorPreCommitOnChainInfo{pc}, true, true)
	if aerr != nil {
		return aerr
	}
	if !x.verifySeal(inputs[0], pc.Info.SealProof, p.Proof) {
		return illegalArgument("invalid seal proof for sector %d", p.SectorNumber)
	}
	act, why := x.dealActivation(pc)
	if why != "" {
		return illegalArgument("failed to activate deals of sector %d: %s", p.SectorNumber, why)
	}
	return x.activate([]activation{act})
}

// activate puts proven sectors on chain: their deposits are released, their pledge locked
// from the available balance plus the message's value, their pre-commits removed.
func (x *exec) activate(acts []activation) *actorError {
	pledge := ExactInitialPledge(x.m.size)
	total := big.Mul(pledge, big.NewInt(int64(len(acts))))
	released := big.Zero()
	for _, a := range acts {
		released = big.Add(released, a.pc.PreCommitDeposit)
	}
	available := big.Add(big.Add(x.m.available(), released), x.value)
	if available.LessThan(total) {
		return fail(exitcode.ErrInsufficientFunds, "insufficient funds for aggregate initial pledge requirement %s, available: %s", total, available)
	}
	x.m.balance = big.Add(x.m.balance, x.value)
	x.m.precommitDeposits = big.Sub(x.m.precommitDeposits, released)
	x.m.initialPledge = big.Add(x.m.initialPledge, total)
	var activated []abi.SectorNumber
	for _, a := range acts {
		info := a.pc.Info
		duration := big.NewInt(int64(info.Expiration - x.h))
		x.m.sectors[info.SectorNumber] = &chain.SectorOnChainInfo{
			SectorNumber:          info.SectorNumber,
			SealProof:             info.SealProof,
			SealedCID:             info.SealedCID,
			Activation:            x.h,
			Expiration:            info.Expiration,
			DealWeight:            big.Mul(big.NewIntUnsigned(uint64(a.unverified)), duration),
			VerifiedDealWeight:    big.Mul(big.NewIntUnsigned(uint64(a.verified)), duration),
			InitialPledge:         pledge,
			ExpectedDayReward:     big.Zero(),
			ExpectedStoragePledge: big.Zero(),
			PowerBaseEpoch:        x.h,
			ReplacedDayReward:     big.Zero(),
			Flags:                 uint64(miner.SIMPLE_QA_POWER),
			DailyFee:              big.Zero(),
		}
		delete(x.m.precommits, info.SectorNumber)
		activated = append(activated, info.SectorNumber)
		for _, id := range info.DealIDs {
			if d := x.c.st.deals[id]; d != nil {
				d.activated = true
			}
		}
	}
	if err := x.c.assignLocked(x.m, x.h, activated); err != nil {
		return fail(exitcode.ErrIllegalState, "assign sectors to deadlines: %v", err)
	}
	return nil
}
