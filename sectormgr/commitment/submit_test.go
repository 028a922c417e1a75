package commitment

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/exitcode"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestRepeatedSubmissionsAreAcceptedOrMismatched(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, seeds := e.preCommitLanded(1)
	s := secs[0]
	if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("same pre-commit again: %+v", resp)
	}
	changed := *s
	changed.commR[0] ^= 1
	if resp := e.submitPre(&changed, false); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("other CommR: %+v", resp)
	}
	changed = *s
	changed.ticket.Epoch--
	if resp := e.submitPre(&changed, false); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("other ticket epoch: %+v", resp)
	}

	proof := e.proof(s, seeds[0])
	if resp := e.submitProof(s, proof, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("proof: %+v %s", resp, desc(resp.Desc))
	}
	if resp := e.submitProof(s, proof, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("same proof again: %+v", resp)
	}
	other := append([]byte(nil), proof...)
	other[0] ^= 1
	if resp := e.submitProof(s, other, false); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("other proof: %+v", resp)
	}
	e.flush(KindProve)
	if n := len(e.sim.Messages()); n != 2 {
		t.Fatalf("%d messages, want one pre-commit and one proof", n)
	}
}

func TestPreCommitChecksRejectWithTheReason(t *testing.T) {
	e := newEnv(t, envOptions{})
	head := e.sim.Head()

	old := e.newSector()
	old.ticket.Epoch = head - 3781
	resp := e.submitPre(old, false)
	want := fmt.Sprintf("ticket expired: ticket epoch %d, head %d; a pre-commit needs a ticket from epoch %d on (at most 3780 epochs old)", head-3781, head, head-3780)
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != want {
		t.Fatalf("old ticket: %s %q\nwant %q", resp.Res, desc(resp.Desc), want)
	}

	bad := e.newSector()
	bad.commD[3] ^= 1
	resp = e.submitPre(bad, false)
	if resp.Res != api.SubmitRejected || !strings.Contains(desc(resp.Desc), "differs from baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy, the zero-piece commitment of a CC sector") {
		t.Fatalf("bad CommD: %s %q", resp.Res, desc(resp.Desc))
	}
	for _, s := range []*sector{old, bad} {
		if st := e.state(s); st.Pre != nil || st.MessageInfo.NeedSend {
			t.Fatalf("a rejected pre-commit was kept: %+v", st)
		}
	}
	e.flush(KindPreCommit)
	if n := len(e.sim.Messages()); n != 0 {
		t.Fatalf("%d messages for rejected pre-commits", n)
	}
}

func TestOnChainPreCommitWithAnotherTicketEpochIsRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, _ := e.preCommitLanded(1)
	s := secs[0]
	other := *s
	other.ticket.Epoch++
	resp := e.submitPre(&other, true)
	want := fmt.Sprintf("bad ticket epoch: %d (on chain) != %d", s.ticket.Epoch, s.ticket.Epoch+1)
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != want {
		t.Fatalf("got %s %q, want %q", resp.Res, desc(resp.Desc), want)
	}
	// The same pre-commit with hardReset: it is on chain, so Accepted and nothing sent.
	if resp := e.submitPre(s, true); resp.Res != api.SubmitAccepted {
		t.Fatalf("reset of the landed pre-commit: %+v", resp)
	}
	if n := len(e.sim.Messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestProofChecksRejectWithTheReason(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, seeds := e.preCommitLanded(2)

	bad := e.proof(secs[0], seeds[0])
	bad[0] ^= 1
	resp := e.submitProof(secs[0], bad, false)
	want := fmt.Sprintf("invalid proof: the mock verifier rejects the %d-byte proof of the pre-committed sector", len(bad))
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != want {
		t.Fatalf("bad proof: %s %q", resp.Res, desc(resp.Desc))
	}

	if ok, err := e.sim.RemovePreCommit(testActor, secs[1].sid.Number); !ok || err != nil {
		t.Fatalf("remove pre-commit: %v %v", ok, err)
	}
	resp = e.submitProof(secs[1], e.proof(secs[1], seeds[1]), false)
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != "pre-commit info not found on chain" {
		t.Fatalf("missing pre-commit: %s %q", resp.Res, desc(resp.Desc))
	}

	fresh := e.newSector()
	resp = e.submitProof(fresh, []byte{1}, false)
	if resp.Res != api.SubmitRejected || desc(resp.Desc) != "pre-commit info not found on chain" {
		t.Fatalf("proof before any pre-commit: %s %q", resp.Res, desc(resp.Desc))
	}
	e.flush(KindProve)
	if n := len(e.sim.Messages()); n != 2 {
		t.Fatalf("%d messages, want only the two pre-commits", n)
	}
}

func TestNodeDownIsAnRPCErrorNamingNodeAndMethod(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.newSector()
	e.sim.SetDown(errors.New("node is down"))
	_, err := e.m.SubmitPreCommit(bg, api.AllocatedSector{ID: s.sid, ProofType: sealProof}, s.preCommit(), false)
	want := "sector state: full node " + e.url + ": Filecoin.ChainHead: node is down"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if st := e.state(s); st.Pre != nil {
		t.Fatal("the pre-commit was kept while the node was down")
	}
	e.sim.SetDown(nil)
	if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("after the node is back: %+v", resp)
	}
	e.flush(KindPreCommit)
	e.land()
	e.sim.SetDown(errors.New("node is down"))
	_, err = e.m.PollPreCommitState(bg, s.sid)
	if want := "sector state: full node " + e.url + ": Filecoin.StateSearchMsg: node is down"; err == nil || err.Error() != want {
		t.Fatalf("poll err = %v\nwant %s", err, want)
	}
	e.sim.SetDown(nil)
	if got := e.pollPre(s); got.State != api.OnChainLanded {
		t.Fatalf("poll after the node is back: %s", got.State)
	}
}

func TestOutOfGasFailsAndAResetSendsANewMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sim.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome { return simchain.OutcomeOutOfGas })
	s := e.newSector()
	e.submitPre(s, false)
	e.flush(KindPreCommit)
	e.land()
	got := e.pollPre(s)
	if got.State != api.OnChainFailed || desc(got.Desc) != "message exited with code 7 (SysErrOutOfGas(7))" {
		t.Fatalf("out of gas: %s %q", got.State, desc(got.Desc))
	}
	e.sim.SetOutcome(nil)
	// Without hardReset the worker's repeat changes nothing.
	if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("repeat: %+v", resp)
	}
	e.flush(KindPreCommit)
	if n := len(e.sim.Messages()); n != 1 {
		t.Fatalf("%d messages after a plain repeat", n)
	}
	if resp := e.submitPre(s, true); resp.Res != api.SubmitAccepted {
		t.Fatalf("reset: %+v %s", resp, desc(resp.Desc))
	}
	e.flush(KindPreCommit)
	msgs := e.sim.Messages()
	if len(msgs) != 2 || msgs[0].MsgUuid == msgs[1].MsgUuid {
		t.Fatalf("%d messages, want a second one with its own id", len(msgs))
	}
	if c := e.state(s).MessageInfo.PreCommitCid; c == nil || !c.Equals(msgs[1].Cid) {
		t.Fatalf("pre-commit CID %v, want the new message %s", c, msgs[1].Cid)
	}
	e.land()
	if got := e.pollPre(s); got.State != api.OnChainLanded {
		t.Fatalf("after the reset: %s %s", got.State, desc(got.Desc))
	}
}

func TestOtherExitCodeShouldAbort(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sim.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		return simchain.OutcomeExit(exitcode.ErrIllegalArgument)
	})
	s := e.newSector()
	e.submitPre(s, false)
	e.flush(KindPreCommit)
	e.advance(1)
	if got := e.pollPre(s); got.State != api.OnChainPacked {
		t.Fatalf("below confidence: %s", got.State)
	}
	e.advance(int(e.cfg.Commitment.Confidence))
	got := e.pollPre(s)
	if got.State != api.OnChainShouldAbort || desc(got.Desc) != "message exited with code 16 (ErrIllegalArgument(16))" {
		t.Fatalf("exit 16: %s %q", got.State, desc(got.Desc))
	}
}

func TestLandedPreCommitMissingOnChainShouldAbort(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, _ := e.preCommitLanded(1)
	if ok, err := e.sim.RemovePreCommit(testActor, secs[0].sid.Number); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	// The number stays allocated on chain.
	if got := e.pollPre(secs[0]); got.State != api.OnChainShouldAbort || desc(got.Desc) != "sector already allocated" {
		t.Fatalf("got %s %q", got.State, desc(got.Desc))
	}
}

func TestSenderAndConfigErrorsAndUnknownSectors(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.newSector()
	e.configure(func(c *config.MinerConfig) { c.Commitment.Pre.Sender = config.MustAddress{} })
	_, err := e.m.SubmitPreCommit(bg, api.AllocatedSector{ID: s.sid, ProofType: sealProof}, s.preCommit(), false)
	if err == nil || err.Error() != "sector state: sender address not valid" {
		t.Fatalf("no sender: %v", err)
	}
	// The prove sender is still set: the proof gets as far as the missing pre-commit.
	resp, err := e.m.SubmitProof(bg, s.sid, api.ProofOnChainInfo{Proof: []byte{1}}, false)
	if err != nil || resp.Res != api.SubmitRejected {
		t.Fatalf("proof with a prove sender: %+v, %v", resp, err)
	}
	e.cfgMu.Lock()
	e.noCfg = true
	e.cfgMu.Unlock()
	_, err = e.m.SubmitProof(bg, s.sid, api.ProofOnChainInfo{Proof: []byte{1}}, false)
	if err == nil || err.Error() != "sector state: config for miner actor 1000 not found" {
		t.Fatalf("no config: %v", err)
	}
	e.cfgMu.Lock()
	e.noCfg = false
	e.cfgMu.Unlock()

	missing := abi.SectorID{Miner: testActor, Number: 999}
	_, err = e.m.PollPreCommitState(bg, missing)
	if code, ok := api.ErrorCode(err); !ok || code != api.ErrCodeSectorStateNotFound || err.Error() != "error code 11001: sector state not found" {
		t.Fatalf("unknown sector: %v (code %d)", err, code)
	}
	_, err = e.m.SubmitProof(bg, missing, api.ProofOnChainInfo{}, false)
	if !api.IsSectorStateNotFound(err) {
		t.Fatalf("unknown sector proof: %v", err)
	}
}
