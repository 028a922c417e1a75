package commitment

import (
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	v8market "github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
)

func TestBeforeNetworkVersion22ProofsUseProveCommitSectorAndAggregate(t *testing.T) {
	e := newEnv(t, envOptions{nv: network.Version21})
	single, seeds := e.preCommitLanded(1)
	e.submitProof(single[0], e.proof(single[0], seeds[0]), false)
	e.flush(KindProve)
	msgs := e.sim.Messages()
	last := msgs[len(msgs)-1]
	if p, ok := last.Params.(*miner.ProveCommitSectorParams); last.Message.Method != builtin.MethodsMiner.ProveCommitSector || !ok || p.SectorNumber != single[0].sid.Number {
		t.Fatalf("single proof: method %d params %T", last.Message.Method, last.Params)
	}

	e.batch(KindProve, 4)
	secs, seeds := e.preCommitLanded(4)
	for i, s := range secs {
		e.submitProof(s, e.proof(s, seeds[i]), false)
	}
	e.flush(KindProve)
	msgs = e.sim.Messages()
	last = msgs[len(msgs)-1]
	p, ok := last.Params.(*miner.ProveCommitAggregateParams)
	if last.Message.Method != builtin.MethodsMiner.ProveCommitAggregate || !ok {
		t.Fatalf("aggregate: method %d params %T", last.Message.Method, last.Params)
	}
	nums, err := p.SectorNumbers.All(16)
	if err != nil || len(nums) != 4 || nums[0] != uint64(secs[0].sid.Number) {
		t.Fatalf("aggregate sectors %v, %v", nums, err)
	}
	e.land()
	for _, s := range append(single, secs...) {
		if got := e.pollProof(s); got.State != api.OnChainLanded {
			t.Fatalf("%s: %s %s", api.FormatSectorID(s.sid), got.State, desc(got.Desc))
		}
	}
}

func TestNetworkBeforeVersion17IsRefused(t *testing.T) {
	e := newEnv(t, envOptions{nv: network.Version16})
	s := e.newSector()
	_, err := e.m.SubmitPreCommit(bg, api.AllocatedSector{ID: s.sid, ProofType: sealProof}, s.preCommit(), false)
	want := "sector state: network version 16 is older than 17: this manager sends PreCommitSectorBatch2, which the chain has only from network version 17; upgrade the chain node's network"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
}

// dealSector is a sector holding one 1KiB deal and a 1KiB pledge piece.
func (e *env) dealSector(id abi.DealID) (*sector, cid.Cid) {
	e.t.Helper()
	s := e.newSector()
	comm := [32]byte{1, 2, 3}
	comm[31] &= 0x3f
	pieceCid := piece.CID(comm)
	zero, err := piece.ZeroCommitment(1024)
	if err != nil {
		e.t.Fatal(err)
	}
	head := e.sim.Head()
	label, _ := market.NewLabelFromString("deal")
	maddr := minerAddr(testActor)
	client := maddr
	if err := e.sim.AddDeal(id, market.DealProposal{
		PieceCID: pieceCid, PieceSize: 1024, Client: client, Provider: maddr, Label: label,
		StartEpoch: head + 5000, EndEpoch: head + 600*2880,
	}); err != nil {
		e.t.Fatal(err)
	}
	v8label, _ := v8market.NewLabelFromString("deal")
	deals := api.Deals{
		{ID: id, PayloadSize: 1000, Piece: api.PieceInfo{Size: 1024, Cid: pieceCid}, Proposal: &v8market.DealProposal{
			PieceCID: pieceCid, PieceSize: 1024, Client: client, Provider: maddr, Label: v8label,
			StartEpoch: head + 5000, EndEpoch: head + 600*2880,
		}},
		{ID: 0, Piece: api.PieceInfo{Size: 1024, Cid: piece.CID(zero)}},
	}
	if err := e.store.Update(s.sid, func(st *api.SectorState) error { st.Pieces = deals; return nil }); err != nil {
		e.t.Fatal(err)
	}
	commD, err := piece.UnsealedCommitment(2048, []piece.Piece{{Commitment: comm, Size: 1024}, {Commitment: zero, Size: 1024}})
	if err != nil {
		e.t.Fatal(err)
	}
	s.commD = commD
	s.commR = mockproof.CommR(sealProof, s.sid, s.ticket.Ticket, s.commD)
	return s, pieceCid
}

func TestDealSectorActivatesItsDealsThroughTheProof(t *testing.T) {
	e := newEnv(t, envOptions{})
	s, pieceCid := e.dealSector(77)
	head := e.sim.Head()
	if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("pre-commit: %+v %s", resp, desc(resp.Desc))
	}
	e.flush(KindPreCommit)
	pc := e.sim.Messages()[0].Params.(*miner.PreCommitSectorBatchParams2).Sectors[0]
	if len(pc.DealIDs) != 0 || pc.UnsealedCid == nil || pc.Expiration != head+600*2880 {
		t.Fatalf("pre-commit info: deals %v, unsealed %v, expiration %d", pc.DealIDs, pc.UnsealedCid, pc.Expiration)
	}
	if want := e.state(s).Pre.CommD; !pc.UnsealedCid.Equals(want) {
		t.Fatalf("unsealed CID %s, want CommD %s", pc.UnsealedCid, want)
	}
	e.land()
	if got := e.pollPre(s); got.State != api.OnChainLanded {
		t.Fatalf("pre-commit: %s %s", got.State, desc(got.Desc))
	}
	seed := e.seed(s)
	if resp := e.submitProof(s, e.proof(s, seed), false); resp.Res != api.SubmitAccepted {
		t.Fatalf("proof: %+v %s", resp, desc(resp.Desc))
	}
	e.flush(KindProve)
	pp := e.sim.Messages()[1].Params.(*miner.ProveCommitSectors3Params)
	pieces := pp.SectorActivations[0].Pieces
	if len(pieces) != 2 || !pieces[0].CID.Equals(pieceCid) || len(pieces[0].Notify) != 1 ||
		pieces[0].Notify[0].Address != builtin.StorageMarketActorAddr || string(pieces[0].Notify[0].Payload) != "\x18\x4d" ||
		len(pieces[1].Notify) != 0 {
		t.Fatalf("activation pieces %+v", pieces)
	}
	e.land()
	if got := e.pollProof(s); got.State != api.OnChainLanded {
		t.Fatalf("proof: %s %s", got.State, desc(got.Desc))
	}
}

func TestDealCheckRejectsAPieceThatDiffersFromItsDeal(t *testing.T) {
	e := newEnv(t, envOptions{})
	s, _ := e.dealSector(78)
	if err := e.store.Update(s.sid, func(st *api.SectorState) error {
		st.Pieces[0].Proposal.PieceSize = 2048
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resp := e.submitPre(s, false)
	want := "piece 0 (of 2) of sector " + api.FormatSectorID(s.sid) + " refers deal 78 with different size: 1024 != 2048"
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != want {
		t.Fatalf("got %s %q\nwant %q", resp.Res, desc(resp.Desc), want)
	}
}
