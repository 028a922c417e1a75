package commitment

import (
	"bytes"
	"context"
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
)

// ddoVersion is the first network whose miner actor proves with ProveCommitSectors3, where deals
// are activated through the proof's piece manifests instead of the pre-commit's deal IDs.
const ddoVersion = network.Version22

// problem is why a submission is rejected: a check failed, not a call.
type problem string

// checkPrecommit is the original's checkPrecommit on the sector's state with st.Pre set to the
// submission: pieces and deals, the data commitment, the ticket's age, and an existing on-chain
// pre-commit. onChain says the same pre-commit is on chain already. An error is a chain call
// that failed.
func (m *Manager) checkPrecommit(ctx context.Context, st *api.SectorState) (p problem, onChain bool, err error) {
	head, err := m.head(ctx)
	if err != nil {
		return "", false, err
	}
	nv, err := m.networkVersion(ctx, head)
	if err != nil {
		return "", false, err
	}
	maddr := minerAddr(st.ID.Miner)
	if p := checkPieces(head.Height, nv, maddr, st); p != "" {
		return p, false, nil
	}
	if p := checkCommD(st); p != "" {
		return p, false, nil
	}
	if earliest := head.Height - miner.MaxPreCommitRandomnessLookback; st.Pre.Ticket.Epoch < earliest {
		return problem(fmt.Sprintf("ticket expired: ticket epoch %d, head %d; a pre-commit needs a ticket from epoch %d on (at most %d epochs old)",
			st.Pre.Ticket.Epoch, head.Height, earliest, miner.MaxPreCommitRandomnessLookback)), false, nil
	}
	pci, err := m.deps.Chain.StateSectorPreCommitInfo(ctx, maddr, st.ID.Number, head.Key())
	if err != nil {
		return "", false, err
	}
	if pci != nil {
		if pci.Info.SealRandEpoch != st.Pre.Ticket.Epoch {
			return problem(fmt.Sprintf("bad ticket epoch: %d (on chain) != %d", pci.Info.SealRandEpoch, st.Pre.Ticket.Epoch)), false, nil
		}
		return "", true, nil
	}
	allocated, err := m.deps.Chain.StateMinerSectorAllocated(ctx, maddr, st.ID.Number, head.Key())
	if err != nil {
		return "", false, err
	}
	if allocated {
		return problem(fmt.Sprintf("sector number %d of miner %s is already allocated on chain and has no pre-commit", st.ID.Number, maddr)), false, nil
	}
	return "", false, nil
}

// checkCommit is the original's checkCommit: the seed, the on-chain pre-commit and its seed
// epoch, the seed bytes against a fresh draw, the proof, and the pieces again.
func (m *Manager) checkCommit(ctx context.Context, st *api.SectorState, sealProof []byte) (problem, error) {
	if st.Seed == nil {
		return "seed epoch was not set: the sector has no seed (WaitSeed hands it out)", nil
	}
	head, err := m.head(ctx)
	if err != nil {
		return "", err
	}
	nv, err := m.networkVersion(ctx, head)
	if err != nil {
		return "", err
	}
	maddr := minerAddr(st.ID.Miner)
	pci, err := m.deps.Chain.StateSectorPreCommitInfo(ctx, maddr, st.ID.Number, head.Key())
	if err != nil {
		return "", err
	}
	if pci == nil {
		return errMsgPreCommitInfoNotFound, nil
	}
	params, err := m.networkParams(ctx)
	if err != nil {
		return "", err
	}
	seedEpoch := pci.PreCommitEpoch + params.PreCommitChallengeDelay
	if seedEpoch != st.Seed.Epoch {
		return problem(fmt.Sprintf("seed epoch doesn't match on chain info: %d(chain) != %d", seedEpoch, st.Seed.Epoch)), nil
	}
	entropy, err := entropyOf(maddr)
	if err != nil {
		return "", err
	}
	seed, err := m.deps.Chain.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_InteractiveSealChallengeSeed, seedEpoch, entropy, head.Key())
	if err != nil {
		return "", err
	}
	if !bytes.Equal(seed, st.Seed.Seed) {
		return problem(fmt.Sprintf("seed has changed: the chain's seed at epoch %d differs from the sector's", seedEpoch)), nil
	}
	ok, err := m.deps.Verifier.VerifySeal(proof.SealVerifyInfo{
		SealProof:             pci.Info.SealProof,
		SectorID:              st.ID,
		DealIDs:               pci.Info.DealIDs,
		Randomness:            abi.SealRandomness(st.Pre.Ticket.Ticket),
		InteractiveRandomness: abi.InteractiveSealRandomness(st.Seed.Seed),
		Proof:                 sealProof,
		SealedCID:             pci.Info.SealedCID,
		UnsealedCID:           st.Pre.CommD,
	})
	if err != nil {
		return problem(fmt.Sprintf("verify seal: %v", err)), nil
	}
	if !ok {
		return problem(fmt.Sprintf("invalid proof: the %s verifier rejects the %d-byte proof of the pre-committed sector", m.deps.Verifier.Name(), len(sealProof))), nil
	}
	return checkPieces(head.Height, nv, maddr, st), nil
}

// checkPieces checks the sector's pieces as the deal manager described them: a pledge piece
// (deal 0) must be zeros, a deal must be for this miner, this piece and size, and not have
// started.
func checkPieces(head abi.ChainEpoch, nv network.Version, maddr address.Address, st *api.SectorState) problem {
	n := len(st.Pieces)
	for i, d := range st.Pieces {
		where := fmt.Sprintf("piece %d (of %d) of sector %s", i, n, api.FormatSectorID(st.ID))
		if d.ID == 0 {
			if err := d.Piece.Size.Validate(); err != nil {
				return problem(fmt.Sprintf("%s has an invalid size %d: %v", where, d.Piece.Size, err))
			}
			if want := zerocomm.ZeroPieceCommitment(d.Piece.Size.Unpadded()); !d.Piece.Cid.Equals(want) {
				return problem(fmt.Sprintf("%s is a pledge piece with non-zero PieceCID %s (want %s)", where, d.Piece.Cid, want))
			}
			continue
		}
		prop := d.Proposal
		switch {
		case prop == nil:
			return problem(fmt.Sprintf("%s refers deal %d without its proposal", where, d.ID))
		case prop.Provider != maddr:
			return problem(fmt.Sprintf("%s refers deal %d with wrong provider: %s != %s", where, d.ID, prop.Provider, maddr))
		case !prop.PieceCID.Equals(d.Piece.Cid):
			return problem(fmt.Sprintf("%s refers deal %d with wrong PieceCID: %s != %s", where, d.ID, d.Piece.Cid, prop.PieceCID))
		case prop.PieceSize != d.Piece.Size:
			return problem(fmt.Sprintf("%s refers deal %d with different size: %d != %d", where, d.ID, d.Piece.Size, prop.PieceSize))
		case head >= prop.StartEpoch:
			return problem(fmt.Sprintf("%s refers expired deal %d - should start at %d, head %d", where, d.ID, prop.StartEpoch, head))
		case prop.VerifiedDeal && nv >= ddoVersion:
			return problem(fmt.Sprintf("%s refers verified deal %d: activating a verified deal from network version %d on needs its "+
				"allocation id (StateGetAllocationIdForPendingDeal), which this manager does not read yet", where, d.ID, ddoVersion))
		}
	}
	return ""
}

// checkCommD compares the submitted CommD with the one the sector's pieces give: the zero
// commitment of the whole sector for a sector without pieces.
func checkCommD(st *api.SectorState) problem {
	want, err := expectedCommD(st)
	if err != nil {
		return problem(fmt.Sprintf("the pieces of sector %s: %v", api.FormatSectorID(st.ID), err))
	}
	if !want.Equals(st.Pre.CommD) {
		what := fmt.Sprintf("the unsealed CID of its %d pieces", len(st.Pieces))
		if len(st.Pieces) == 0 {
			what = "the zero-piece commitment of a CC sector"
		}
		return problem(fmt.Sprintf("CommD %s differs from %s, %s", st.Pre.CommD, want, what))
	}
	return ""
}

func expectedCommD(st *api.SectorState) (cid.Cid, error) {
	size, err := st.SectorType.SectorSize()
	if err != nil {
		return cid.Undef, err
	}
	if len(st.Pieces) == 0 {
		return zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(size).Unpadded()), nil
	}
	pieces := make([]abi.PieceInfo, len(st.Pieces))
	for i, d := range st.Pieces {
		pieces[i] = abi.PieceInfo{Size: d.Piece.Size, PieceCID: d.Piece.Cid}
	}
	return piece.UnsealedCID(size, pieces)
}

// hasDeals tells whether the sector holds deal data (a CC sector holds at most pledge pieces).
func hasDeals(st *api.SectorState) bool {
	for _, d := range st.Pieces {
		if d.ID != 0 {
			return true
		}
	}
	return false
}

func dealIDs(st *api.SectorState) []abi.DealID {
	var ids []abi.DealID
	for _, d := range st.Pieces {
		if d.ID != 0 {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// entropyOf is the randomness entropy of a miner: the CBOR of its address.
func entropyOf(maddr address.Address) ([]byte, error) {
	var buf bytes.Buffer
	if err := maddr.MarshalCBOR(&buf); err != nil {
		return nil, fmt.Errorf("encode miner address %s: %w", maddr, err)
	}
	return buf.Bytes(), nil
}

// sectorExpiration is the original's expiration rule (§4.7): the latest end of the sector's live
// deals, or the CC lifetime from the config; at least a minimum sector life plus a proving
// period from now; within the bounds the miner actor accepts for this ticket and head.
func sectorExpiration(head abi.ChainEpoch, st *api.SectorState, lifetimeDays uint64, challengeDelay abi.ChainEpoch) (abi.ChainEpoch, error) {
	var end *abi.ChainEpoch
	for _, d := range st.Pieces {
		if d.ID == 0 || d.Proposal == nil {
			continue
		}
		e := d.Proposal.EndEpoch
		if e < head {
			log.Warnw("a deal of the sector ended before the current epoch", "sector", api.FormatSectorID(st.ID), "deal", d.ID, "end", e, "head", head)
			continue
		}
		if end == nil || *end < e {
			end = &e
		}
	}
	if end == nil {
		e := head + ccLifetime(abi.ChainEpoch(lifetimeDays)*builtin.EpochsInDay, miner.WPoStProvingPeriod)
		end = &e
	}
	expiration := *end
	if minExp := head + miner.MinSectorExpiration + miner.WPoStProvingPeriod; expiration < minExp {
		expiration = minExp
	}
	mpcd, ok := miner.MaxProveCommitDuration[st.SectorType]
	if !ok {
		return 0, fmt.Errorf("seal proof type %d has no maximum prove-commit duration in the actors' policy", st.SectorType)
	}
	if lower := st.Pre.Ticket.Epoch + miner.MaxPreCommitRandomnessLookback + mpcd + miner.MinSectorExpiration; expiration < lower {
		expiration = lower
	}
	if upper := head + challengeDelay + miner.MaxSectorExpirationExtension; expiration > upper {
		expiration = upper
	}
	return expiration, nil
}

// ccLifetime is the original's CC sector lifetime of lifetime epochs (LifetimeDays * a day): 0
// means the longest; out-of-bounds values are raised or lowered to the bound; others lose two
// proving periods, so the sector can be extended before it ends.
func ccLifetime(lifetime, provingPeriod abi.ChainEpoch) abi.ChainEpoch {
	maxLifetime := abi.ChainEpoch(miner.MaxSectorExpirationExtension)
	if lifetime == 0 {
		lifetime = maxLifetime
	}
	if lifetime < miner.MinSectorExpiration {
		return miner.MinSectorExpiration
	}
	if lifetime > maxLifetime {
		return maxLifetime
	}
	return lifetime - 2*provingPeriod
}
