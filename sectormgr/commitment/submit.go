package commitment

import (
	"bytes"
	"context"
	"fmt"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// SubmitPreCommit takes a worker's pre-commit (§4.7): a repeat without hardReset is Accepted when
// it is the same and MismatchedSubmission when not; otherwise the pre-commit is checked (pieces
// and deals, CommD, ticket age, the chain's pre-commit), kept with NeedSend and queued to the
// miner's pre-commit batcher. A failed check is Rejected with its reason; a failed chain call is
// an RPC error naming the node and method. Every error but 11001 reads "sector state: ...".
func (m *Manager) SubmitPreCommit(ctx context.Context, sector api.AllocatedSector, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error) {
	resp, err := m.submitPreCommit(ctx, sector.ID, info, hardReset)
	return resp, stateErr(err)
}

func (m *Manager) submitPreCommit(ctx context.Context, sid abi.SectorID, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error) {
	if _, _, err := m.policy(sid.Miner, KindPreCommit); err != nil {
		return api.SubmitPreCommitResp{}, err
	}
	st, err := m.deps.Sectors.Online(sid)
	if err != nil {
		return api.SubmitPreCommitResp{}, err
	}
	pre, err := preCommitInfo(info)
	if err != nil {
		return rejected(err.Error()), nil
	}
	// A message being sent for the sector wins over a reset: a second pre-commit message could
	// otherwise reach the chain.
	if st.Pre != nil && (!hardReset || m.isBusy(KindPreCommit, sid)) {
		if samePreCommit(st.Pre, pre) {
			return accepted(), nil
		}
		return api.SubmitPreCommitResp{Res: api.SubmitMismatchedSubmission}, nil
	}
	st.Pre = pre
	p, onChain, err := m.checkPrecommit(ctx, st)
	if err != nil {
		return api.SubmitPreCommitResp{}, err
	}
	if onChain {
		return accepted(), nil
	}
	if p != "" {
		log.Warnw("pre-commit rejected", "sector", api.FormatSectorID(sid), "reason", p)
		return rejected(string(p)), nil
	}
	err = m.deps.Sectors.Update(sid, func(s *api.SectorState) error {
		s.Pre = pre
		s.MessageInfo.NeedSend = true
		s.MessageInfo.PreCommitCid = nil
		return nil
	})
	if err != nil {
		return api.SubmitPreCommitResp{}, err
	}
	m.enqueue(KindPreCommit, sid, pre.Ticket.Epoch)
	return accepted(), nil
}

// SubmitProof takes a worker's proof (§4.7): without a pre-commit it is Rejected; a repeat
// without hardReset is Accepted when the bytes are the same and MismatchedSubmission when not;
// otherwise the proof is checked (seed, on-chain pre-commit, seed epoch and bytes, the proof
// itself, pieces), kept with NeedSend and queued to the miner's prove batcher.
func (m *Manager) SubmitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, hardReset bool) (api.SubmitProofResp, error) {
	resp, err := m.submitProof(ctx, sid, info, hardReset)
	return resp, stateErr(err)
}

func (m *Manager) submitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, hardReset bool) (api.SubmitProofResp, error) {
	if _, _, err := m.policy(sid.Miner, KindProve); err != nil {
		return api.SubmitProofResp{}, err
	}
	st, err := m.deps.Sectors.Online(sid)
	if err != nil {
		return api.SubmitProofResp{}, err
	}
	if st.Pre == nil {
		return rejected(errMsgPreCommitInfoNotFound), nil
	}
	if st.Proof != nil && (!hardReset || m.isBusy(KindProve, sid)) {
		if bytes.Equal(st.Proof.Proof, info.Proof) {
			return accepted(), nil
		}
		return api.SubmitProofResp{Res: api.SubmitMismatchedSubmission}, nil
	}
	p, err := m.checkCommit(ctx, st, info.Proof)
	if err != nil {
		return api.SubmitProofResp{}, err
	}
	if p != "" {
		log.Warnw("proof rejected", "sector", api.FormatSectorID(sid), "reason", p)
		return rejected(string(p)), nil
	}
	seedEpoch := st.Seed.Epoch
	err = m.deps.Sectors.Update(sid, func(s *api.SectorState) error {
		s.Proof = &api.ProofInfo{Proof: bytes.Clone(info.Proof)}
		s.MessageInfo.NeedSend = true
		s.MessageInfo.CommitCid = nil
		return nil
	})
	if err != nil {
		return api.SubmitProofResp{}, err
	}
	m.enqueue(KindProve, sid, seedEpoch)
	return accepted(), nil
}

func preCommitInfo(info api.PreCommitOnChainInfo) (*api.PreCommitInfo, error) {
	commR, err := commcid.ReplicaCommitmentV1ToCID(info.CommR[:])
	if err != nil {
		return nil, fmt.Errorf("CommR %x: %w", info.CommR, err)
	}
	commD, err := commcid.DataCommitmentV1ToCID(info.CommD[:])
	if err != nil {
		return nil, fmt.Errorf("CommD %x: %w", info.CommD, err)
	}
	return &api.PreCommitInfo{
		CommR:  commR,
		CommD:  commD,
		Ticket: api.Ticket{Ticket: bytes.Clone(info.Ticket.Ticket), Epoch: info.Ticket.Epoch},
		Deals:  append([]abi.DealID(nil), info.Deals...),
	}, nil
}

// samePreCommit is the original's repeat test: CommD, CommR, ticket epoch and ticket bytes.
func samePreCommit(a, b *api.PreCommitInfo) bool {
	return a.CommD.Equals(b.CommD) && a.CommR.Equals(b.CommR) &&
		a.Ticket.Epoch == b.Ticket.Epoch && bytes.Equal(a.Ticket.Ticket, b.Ticket.Ticket)
}

func accepted() api.SubmitPreCommitResp { return api.SubmitPreCommitResp{Res: api.SubmitAccepted} }

func rejected(desc string) api.SubmitPreCommitResp {
	return api.SubmitPreCommitResp{Res: api.SubmitRejected, Desc: &desc}
}
