package commitment

import (
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestSinglePreCommitAndProofLand(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.newSector()
	head := e.sim.Head()
	if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("submit: %+v", resp)
	}
	e.flush(KindPreCommit)

	msgs := e.sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	msg := msgs[0]
	if msg.Message.Method != builtin.MethodsMiner.PreCommitSectorBatch2 || msg.Message.To.String() != "f01000" {
		t.Fatalf("message %d to %s", msg.Message.Method, msg.Message.To)
	}
	if !msg.Message.Value.Equals(estimate(simchain.ExactPreCommitDeposit(2048))) {
		t.Fatalf("value %s, want the deposit estimate", msg.Message.Value)
	}
	params := msg.Params.(*miner.PreCommitSectorBatchParams2)
	if len(params.Sectors) != 1 {
		t.Fatalf("%d sectors in the pre-commit", len(params.Sectors))
	}
	pc := params.Sectors[0]
	st := e.state(s)
	if pc.SectorNumber != s.sid.Number || !pc.SealedCID.Equals(st.Pre.CommR) || pc.SealRandEpoch != s.ticket.Epoch ||
		pc.SealProof != sealProof || len(pc.DealIDs) != 0 || pc.UnsealedCid != nil {
		t.Fatalf("pre-commit info %+v", pc)
	}
	// CC, 540 days: head + 540 days - 2 proving periods.
	if want := head + 540*2880 - 2*2880; pc.Expiration != want {
		t.Fatalf("expiration %d, want %d", pc.Expiration, want)
	}
	if st.MessageInfo.NeedSend || st.MessageInfo.PreCommitCid == nil || !st.MessageInfo.PreCommitCid.Equals(msg.Cid) {
		t.Fatalf("message info %+v, want the pushed CID %s", st.MessageInfo, msg.Cid)
	}

	if got := e.pollPre(s); got.State != api.OnChainPending {
		t.Fatalf("before a tipset: %s", got.State)
	}
	e.advance(1)
	if got := e.pollPre(s); got.State != api.OnChainPacked {
		t.Fatalf("included: %s", got.State)
	}
	e.advance(int(e.cfg.Commitment.Confidence))
	if got := e.pollPre(s); got.State != api.OnChainLanded || got.Desc != nil {
		t.Fatalf("after confidence: %s %s", got.State, desc(got.Desc))
	}

	seed := e.seed(s)
	if resp := e.submitProof(s, e.proof(s, seed), false); resp.Res != api.SubmitAccepted {
		t.Fatalf("proof: %+v %s", resp, desc(resp.Desc))
	}
	e.flush(KindProve)
	msgs = e.sim.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	prove := msgs[1]
	if prove.Message.Method != builtin.MethodsMiner.ProveCommitSectors3 {
		t.Fatalf("prove method %d", prove.Message.Method)
	}
	// Collateral: the pledge estimate less the deposit the pre-commit locked.
	wantValue := big.Sub(estimate(simchain.ExactInitialPledge(2048)), simchain.ExactPreCommitDeposit(2048))
	if !prove.Message.Value.Equals(wantValue) {
		t.Fatalf("prove value %s, want %s", prove.Message.Value, wantValue)
	}
	pp := prove.Params.(*miner.ProveCommitSectors3Params)
	if len(pp.SectorActivations) != 1 || pp.SectorActivations[0].SectorNumber != s.sid.Number || len(pp.SectorActivations[0].Pieces) != 0 ||
		len(pp.SectorProofs) != 1 || pp.AggregateProof != nil || pp.AggregateProofType != nil || pp.RequireActivationSuccess {
		t.Fatalf("prove params %+v", pp)
	}
	if got := e.pollProof(s); got.State != api.OnChainPending {
		t.Fatalf("proof before a tipset: %s", got.State)
	}
	e.land()
	if got := e.pollProof(s); got.State != api.OnChainLanded {
		t.Fatalf("proof: %s %s", got.State, desc(got.Desc))
	}
	if e.sim.Sector(testActor, s.sid.Number) == nil {
		t.Fatal("the sector is not on chain")
	}
	if prove.ExitCode != exitcode.Ok {
		t.Fatalf("prove exit %s", prove.ExitCode)
	}
}

func TestBatchedPreCommitAndAggregatedProof(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.batch(KindPreCommit, 4)
	e.batch(KindProve, 4)
	var secs []*sector
	for i := 0; i < 4; i++ {
		s := e.newSector()
		if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
			t.Fatalf("submit: %+v", resp)
		}
		secs = append(secs, s)
	}
	// The fourth sector filled the batch; Flush only waits for that send.
	e.flush(KindPreCommit)
	msgs := e.sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one batch", len(msgs))
	}
	params := msgs[0].Params.(*miner.PreCommitSectorBatchParams2)
	if len(params.Sectors) != 4 {
		t.Fatalf("%d sectors in the batch", len(params.Sectors))
	}
	for i, pc := range params.Sectors {
		if pc.SectorNumber != secs[i].sid.Number || pc.SealRandEpoch != secs[i].ticket.Epoch {
			t.Fatalf("sector %d of the batch: %+v", i, pc)
		}
	}
	if want := big.Mul(estimate(simchain.ExactPreCommitDeposit(2048)), big.NewInt(4)); !msgs[0].Message.Value.Equals(want) {
		t.Fatalf("batch value %s, want %s", msgs[0].Message.Value, want)
	}
	e.land()
	var proofs [][]byte
	for _, s := range secs {
		if got := e.pollPre(s); got.State != api.OnChainLanded {
			t.Fatalf("%s: %s %s", api.FormatSectorID(s.sid), got.State, desc(got.Desc))
		}
		proofs = append(proofs, nil)
	}
	for i, s := range secs {
		proofs[i] = e.proof(s, e.seed(s))
	}
	for i, s := range secs {
		if resp := e.submitProof(s, proofs[i], false); resp.Res != api.SubmitAccepted {
			t.Fatalf("proof: %+v %s", resp, desc(resp.Desc))
		}
	}
	e.flush(KindProve)
	msgs = e.sim.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	pp := msgs[1].Params.(*miner.ProveCommitSectors3Params)
	if len(pp.SectorActivations) != 4 || len(pp.SectorProofs) != 0 || len(pp.AggregateProof) == 0 ||
		pp.AggregateProofType == nil || *pp.AggregateProofType != abi.RegisteredAggregationProof_SnarkPackV2 {
		t.Fatalf("aggregate params: %d activations, %d proofs, aggregate %d bytes, type %v",
			len(pp.SectorActivations), len(pp.SectorProofs), len(pp.AggregateProof), pp.AggregateProofType)
	}
	for i, a := range pp.SectorActivations {
		if a.SectorNumber != secs[i].sid.Number {
			t.Fatalf("activation %d is sector %d", i, a.SectorNumber)
		}
	}
	collateral := big.Sub(estimate(simchain.ExactInitialPledge(2048)), simchain.ExactPreCommitDeposit(2048))
	if want := big.Mul(collateral, big.NewInt(4)); !msgs[1].Message.Value.Equals(want) {
		t.Fatalf("aggregate value %s, want %s", msgs[1].Message.Value, want)
	}
	e.land()
	for _, s := range secs {
		if got := e.pollProof(s); got.State != api.OnChainLanded {
			t.Fatalf("%s: %s %s", api.FormatSectorID(s.sid), got.State, desc(got.Desc))
		}
	}
}
