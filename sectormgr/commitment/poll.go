package commitment

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
)

// PollPreCommitState tells a worker where its pre-commit is (§4.7): Pending while it waits to be
// sent, Failed when sending failed, else the state of its message; a landed message is checked
// against the chain's pre-commit.
func (m *Manager) PollPreCommitState(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	resp, err := m.pollPreCommit(ctx, sid)
	return resp, stateErr(err)
}

func (m *Manager) pollPreCommit(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	st, err := m.deps.Sectors.Online(sid)
	if err != nil {
		return api.PollPreCommitStateResp{}, err
	}
	resp, err := m.pollMessage(ctx, sid, KindPreCommit, st.MessageInfo.PreCommitCid, st.MessageInfo.NeedSend)
	if err != nil || resp.State != api.OnChainLanded {
		return resp, err
	}
	maddr := minerAddr(sid.Miner)
	pci, err := m.deps.Chain.StateSectorPreCommitInfo(ctx, maddr, sid.Number, chain.EmptyTSK)
	if err != nil {
		return api.PollPreCommitStateResp{}, err
	}
	if pci != nil {
		return resp, nil
	}
	allocated, err := m.deps.Chain.StateMinerSectorAllocated(ctx, maddr, sid.Number, chain.EmptyTSK)
	if err != nil {
		return api.PollPreCommitStateResp{}, err
	}
	if allocated {
		return shouldAbort(errMsgSectorAllocated), nil
	}
	return shouldAbort(errMsgPreCommitInfoNotFound), nil
}

// PollProofState is PollPreCommitState for the proof; a landed proof needs the sector on chain.
func (m *Manager) PollProofState(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	resp, err := m.pollProof(ctx, sid)
	return resp, stateErr(err)
}

func (m *Manager) pollProof(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	st, err := m.deps.Sectors.Online(sid)
	if err != nil {
		return api.PollProofStateResp{}, err
	}
	resp, err := m.pollMessage(ctx, sid, KindProve, st.MessageInfo.CommitCid, st.MessageInfo.NeedSend)
	if err != nil || resp.State != api.OnChainLanded {
		return resp, err
	}
	info, err := m.deps.Chain.StateSectorGetInfo(ctx, minerAddr(sid.Miner), sid.Number, chain.EmptyTSK)
	if err != nil {
		return api.PollProofStateResp{}, err
	}
	if info == nil {
		return shouldAbort(errMsgSectorInfoNotFound), nil
	}
	return resp, nil
}

// pollMessage maps a sector's message to a poll answer.
func (m *Manager) pollMessage(ctx context.Context, sid abi.SectorID, kind Kind, c *cid.Cid, needSend bool) (api.PollPreCommitStateResp, error) {
	if c == nil {
		if needSend {
			return api.PollPreCommitStateResp{State: api.OnChainPending}, nil
		}
		desc := errMsgPublishAttemptFailed
		return api.PollPreCommitStateResp{State: api.OnChainFailed, Desc: &desc}, nil
	}
	cfg, ok := m.deps.Miner(sid.Miner)
	if !ok {
		return api.PollPreCommitStateResp{}, fmt.Errorf("config for miner actor %d not found", sid.Miner)
	}
	ms, err := m.deps.Sender.State(ctx, *c)
	if err != nil {
		return api.PollPreCommitStateResp{}, err
	}
	state, desc := messageState(ms, cfg.Commitment.Confidence)
	m.logOutcome(sid, kind, *c, state, desc, ms)
	return api.PollPreCommitStateResp{State: state, Desc: desc}, nil
}

// messageState is the table of §4.7: enough confidence and exit code 0 is Landed, out of gas (or
// a message the backend gave up on) is Failed, so the worker sends again, any other exit code is
// ShouldAbort. Desc is the receipt's return read as text when it is text (a CBOR return, such as
// ProveCommitSectors3's batch result, is not), or, for a failed execution without it, the exit
// code.
func messageState(ms messager.State, confidence int64) (api.OnChainState, *string) {
	var desc *string
	if ms.Receipt != nil && len(ms.Receipt.Return) > 0 && utf8.Valid(ms.Receipt.Return) {
		ret := string(ms.Receipt.Return)
		desc = &ret
	}
	switch ms.Status {
	case messager.Failed:
		return api.OnChainFailed, desc
	case messager.OnChain:
	default:
		return api.OnChainPending, desc
	}
	if ms.Confidence < confidence {
		return api.OnChainPacked, desc
	}
	if ms.Receipt == nil {
		text := errMsgReceiptNotFound
		return api.OnChainFailed, &text
	}
	if desc == nil && ms.Receipt.ExitCode != exitcode.Ok {
		text := fmt.Sprintf("message exited with code %d (%s)", int64(ms.Receipt.ExitCode), ms.Receipt.ExitCode)
		desc = &text
	}
	switch ms.Receipt.ExitCode {
	case exitcode.Ok:
		return api.OnChainLanded, desc
	case exitcode.SysErrOutOfGas:
		return api.OnChainFailed, desc
	default:
		return api.OnChainShouldAbort, desc
	}
}

func shouldAbort(desc string) api.PollPreCommitStateResp {
	return api.PollPreCommitStateResp{State: api.OnChainShouldAbort, Desc: &desc}
}

// logOutcome logs, once per message and state, that a message landed or failed.
func (m *Manager) logOutcome(sid abi.SectorID, kind Kind, c cid.Cid, state api.OnChainState, desc *string, ms messager.State) {
	if state != api.OnChainLanded && state != api.OnChainFailed && state != api.OnChainShouldAbort {
		return
	}
	m.reportedMu.Lock()
	seen := m.reported[c] == state
	m.reported[c] = state
	m.reportedMu.Unlock()
	if seen {
		return
	}
	kv := []any{"sector", api.FormatSectorID(sid), "kind", kind, "cid", c, "state", state.String(), "height", ms.Height}
	if ms.Receipt != nil {
		kv = append(kv, "exit", ms.Receipt.ExitCode.String())
	}
	if desc != nil {
		kv = append(kv, "desc", *desc)
	}
	if state == api.OnChainLanded {
		log.Infow("message landed", kv...)
	} else {
		log.Infow("message failed", kv...)
	}
}
