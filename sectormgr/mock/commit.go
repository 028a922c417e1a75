package mock

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

// SubmitPreCommit verifies the pre-commit against what the mock chain issued (ticket, CC CommD,
// mock CommR) and "lands" it at once. A repeat is a DuplicateSubmit unless hardReset replaces it.
func (m *Mock) SubmitPreCommit(ctx context.Context, sector api.AllocatedSector, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error) {
	log.Debugw("SubmitPreCommit", "sector", api.FormatSectorID(sector.ID), "reset", hardReset)
	var resp api.SubmitPreCommitResp
	err := m.withOnline(sector.ID, func(st *api.SectorState) error {
		if problem := m.preCommitProblem(st, sector, info); problem != "" {
			log.Warnw("pre-commit rejected", "sector", api.FormatSectorID(sector.ID), "reason", problem)
			resp = rejected(problem)
			return nil
		}
		if st.Pre != nil && !hardReset {
			resp = api.SubmitPreCommitResp{Res: api.SubmitDuplicateSubmit}
			return nil
		}
		pre, err := preCommitInfo(info)
		if err != nil {
			return err
		}
		st.Pre = pre
		resp = api.SubmitPreCommitResp{Res: api.SubmitAccepted}
		return nil
	})
	return resp, err
}

// preCommitProblem says what differs between a submitted pre-commit and the one the mock
// expects, or "" when they agree.
func (m *Mock) preCommitProblem(st *api.SectorState, sector api.AllocatedSector, info api.PreCommitOnChainInfo) string {
	if sector.ProofType != st.SectorType {
		return fmt.Sprintf("proof type %d differs from the allocated %d", sector.ProofType, st.SectorType)
	}
	if st.Ticket == nil {
		return "no ticket was assigned to this sector"
	}
	if !bytes.Equal(info.Ticket.Ticket, st.Ticket.Ticket) {
		return fmt.Sprintf("ticket %x differs from the assigned %x", []byte(info.Ticket.Ticket), []byte(st.Ticket.Ticket))
	}
	if len(st.Pieces) == 0 && info.CommD != m.zeroCommD {
		return fmt.Sprintf("CommD %s differs from the zero-piece commitment %s of a CC sector", hex32(info.CommD), hex32(m.zeroCommD))
	}
	if len(st.Pieces) > 0 {
		commD, err := unsealedCommD(m.sectorSize, st.Pieces)
		if err != nil {
			return fmt.Sprintf("the sector's pieces: %v", err)
		}
		if info.CommD != commD {
			return fmt.Sprintf("CommD %s differs from the unsealed commitment %s of the sector's %d pieces (deals %v)",
				hex32(info.CommD), hex32(commD), len(st.Pieces), dealIDs(st.Pieces))
		}
	}
	if want := dealIDs(st.Pieces); !slices.Equal(info.Deals, want) {
		return fmt.Sprintf("deals %v differ from the sector's deals %v", info.Deals, want)
	}
	if want := mockproof.CommR(st.SectorType, st.ID, st.Ticket.Ticket, info.CommD); info.CommR != want {
		return fmt.Sprintf("CommR %s differs from the mock CommR %s", hex32(info.CommR), hex32(want))
	}
	return ""
}

func preCommitInfo(info api.PreCommitOnChainInfo) (*api.PreCommitInfo, error) {
	commR, err := commcid.ReplicaCommitmentV1ToCID(info.CommR[:])
	if err != nil {
		return nil, fmt.Errorf("convert CommR to a CID: %w", err)
	}
	commD, err := commcid.DataCommitmentV1ToCID(info.CommD[:])
	if err != nil {
		return nil, fmt.Errorf("convert CommD to a CID: %w", err)
	}
	return &api.PreCommitInfo{
		CommR:  commR,
		CommD:  commD,
		Ticket: api.Ticket{Ticket: cloneBytes(info.Ticket.Ticket), Epoch: info.Ticket.Epoch},
		Deals:  append([]abi.DealID(nil), info.Deals...),
	}, nil
}

// PollPreCommitState: an accepted pre-commit has landed; anything else was never sent.
func (m *Mock) PollPreCommitState(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	log.Debugw("PollPreCommitState", "sector", api.FormatSectorID(sid))
	st, err := m.sectors.Online(sid)
	if err != nil {
		return api.PollPreCommitStateResp{}, err
	}
	return api.PollPreCommitStateResp{State: landedIf(st.Pre != nil)}, nil
}

// SubmitProof verifies the proof against the mock seal proof of the stored pre-commit and the
// sector's seed; repeats follow the pre-commit's duplicate/reset rule.
func (m *Mock) SubmitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, hardReset bool) (api.SubmitProofResp, error) {
	log.Debugw("SubmitProof", "sector", api.FormatSectorID(sid), "reset", hardReset, "size", len(info.Proof))
	var resp api.SubmitProofResp
	err := m.withOnline(sid, func(st *api.SectorState) error {
		problem, err := proofProblem(st, info.Proof)
		if err != nil {
			return err
		}
		if problem != "" {
			log.Warnw("proof rejected", "sector", api.FormatSectorID(sid), "reason", problem)
			resp = rejected(problem)
			return nil
		}
		if st.Proof != nil && !hardReset {
			resp = api.SubmitProofResp{Res: api.SubmitDuplicateSubmit}
			return nil
		}
		st.Proof = &api.ProofInfo{Proof: cloneBytes(info.Proof)}
		resp = api.SubmitProofResp{Res: api.SubmitAccepted}
		return nil
	})
	return resp, err
}

// proofProblem says why a proof does not verify, or "" when it does; err is an internal failure.
func proofProblem(st *api.SectorState, proof []byte) (problem string, err error) {
	if st.Pre == nil {
		return "pre-commit info not found", nil
	}
	if st.Seed == nil {
		return "no seed was assigned to this sector", nil
	}
	commR, commD, err := commitments(st.Pre)
	if err != nil {
		return "", err
	}
	want, err := mockproof.SealProof(st.SectorType, st.ID, st.Pre.Ticket.Ticket, st.Seed.Seed, commR, commD)
	if err != nil {
		return "", fmt.Errorf("compute the mock seal proof: %w", err)
	}
	if !bytes.Equal(proof, want) {
		return fmt.Sprintf("proof (%d bytes) differs from the mock seal proof (%d bytes) of the pre-committed sector", len(proof), len(want)), nil
	}
	return "", nil
}

func commitments(pre *api.PreCommitInfo) (commR, commD [32]byte, err error) {
	r, err := commcid.CIDToReplicaCommitmentV1(pre.CommR)
	if err != nil {
		return commR, commD, fmt.Errorf("stored CommR: %w", err)
	}
	d, err := commcid.CIDToDataCommitmentV1(pre.CommD)
	if err != nil {
		return commR, commD, fmt.Errorf("stored CommD: %w", err)
	}
	copy(commR[:], r)
	copy(commD[:], d)
	return commR, commD, nil
}

// PollProofState: an accepted proof has landed; anything else was never sent.
func (m *Mock) PollProofState(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	log.Debugw("PollProofState", "sector", api.FormatSectorID(sid))
	st, err := m.sectors.Online(sid)
	if err != nil {
		return api.PollProofStateResp{}, err
	}
	return api.PollProofStateResp{State: landedIf(st.Proof != nil)}, nil
}

func landedIf(submitted bool) api.OnChainState {
	if submitted {
		return api.OnChainLanded
	}
	return api.OnChainNotFound
}

func rejected(desc string) api.SubmitPreCommitResp {
	return api.SubmitPreCommitResp{Res: api.SubmitRejected, Desc: &desc}
}

func hex32(b [32]byte) string { return hex.EncodeToString(b[:]) }
