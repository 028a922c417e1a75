package simchain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestMpoolPushMessageFillsAndSigns(t *testing.T) {
	s := newSim(t, simchain.Options{})
	workerID, ok := s.c.AccountID(worker)
	if !ok || workerID.String() != "f0101" {
		t.Fatalf("worker account %s, %v", workerID, ok)
	}
	// From the worker's ID address: the node signs with its key and sends from the key.
	for i := uint64(0); i < 3; i++ {
		sm, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: workerID, Method: 0, Value: big.NewInt(1)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := sm.Message
		if m.From != worker || m.Nonce != i || m.GasLimit != 10_000_000 || !m.GasPremium.Equals(big.NewInt(100_000)) ||
			!m.GasFeeCap.Equals(big.NewInt(100_200)) || sm.Signature.Type != crypto.SigTypeBLS || len(sm.Signature.Data) != 96 {
			t.Fatalf("pushed %+v", sm)
		}
		signed, _ := sm.Cid()
		unsigned, _ := sm.Message.Cid()
		if !signed.Equals(unsigned) {
			t.Fatalf("BLS message: signed CID %s, message CID %s", signed, unsigned)
		}
	}
	// Explicit gas fields are kept; the fee is capped at MaxFee.
	sm, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, GasLimit: 1000, GasFeeCap: big.NewInt(50), GasPremium: big.NewInt(70), Value: big.Zero()},
		&chain.MessageSendSpec{MaxFee: big.NewInt(20_000)})
	if err != nil {
		t.Fatal(err)
	}
	if sm.Message.GasLimit != 1000 || !sm.Message.GasFeeCap.Equals(big.NewInt(20)) || !sm.Message.GasPremium.Equals(big.NewInt(20)) || sm.Message.Nonce != 3 {
		t.Fatalf("gas %+v", sm.Message)
	}
	// A secp256k1 sender's message is known by its signed CID, and found by either.
	owner := simchain.DefaultOwner(testActor)
	sm, err = s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: owner, Value: big.Zero()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := sm.Cid()
	unsigned, _ := sm.Message.Cid()
	if sm.Signature.Type != crypto.SigTypeSecp256k1 || signed.Equals(unsigned) || sm.Message.Nonce != 0 {
		t.Fatalf("secp message %+v", sm)
	}
	s.advance(1)
	for _, c := range []cid.Cid{signed, unsigned} {
		l, err := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, -1, false)
		if err != nil || l == nil || !l.Message.Equals(signed) {
			t.Fatalf("search by %s: %+v, %v", c, l, err)
		}
	}
}

func TestMpoolPushMessageRefusals(t *testing.T) {
	s := newSim(t, simchain.Options{})
	stranger, _ := address.NewSecp256k1Address([]byte("not in the wallet"))
	_, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: stranger, Value: big.Zero()}, nil)
	want := "failed to sign message: signing using key '" + stranger.String() + "': key info not found, addr=" + stranger.String()
	if err == nil || err.Error() != want {
		t.Fatalf("push from a stranger: %v\nwant %s", err, want)
	}
	unknownID, _ := address.NewIDAddress(7777)
	if _, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: unknownID}, nil); err == nil || err.Error() != "getting key address: failed to find actor: f07777" {
		t.Fatalf("push from an unknown ID: %v", err)
	}
	if _, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Nonce: 4}, nil); err == nil || err.Error() != "MpoolPushMessage expects message nonce to be 0, was 4" {
		t.Fatalf("push with a nonce: %v", err)
	}
	if len(s.c.Messages()) != 0 {
		t.Fatal("a refused message was pushed")
	}
}

func TestMpoolPushMessageUuidDedup(t *testing.T) {
	s := newSim(t, simchain.Options{})
	id := uuid.MustParse("07070707-0707-0707-0707-070707070707")
	first, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.NewInt(1)}, &chain.MessageSendSpec{MsgUuid: id})
	if err != nil {
		t.Fatal(err)
	}
	// Even a different message with the same uuid gets the first one back.
	again, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.NewInt(2)}, &chain.MessageSendSpec{MsgUuid: id})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := first.Cid()
	c2, _ := again.Cid()
	if !c1.Equals(c2) || !again.Message.Value.Equals(big.NewInt(1)) {
		t.Fatalf("second push %s, first %s", c2, c1)
	}
	msgs := s.c.Messages()
	if len(msgs) != 1 || msgs[0].MsgUuid != id || !msgs[0].Cid.Equals(c1) || !msgs[0].Pending() {
		t.Fatalf("messages %+v", msgs)
	}
	// Without a uuid every push is a new message, and the node names each with a fresh uuid.
	for i := 0; i < 2; i++ {
		if _, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.NewInt(1)}, &chain.MessageSendSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	msgs = s.c.Messages()
	if len(msgs) != 3 || msgs[1].MsgUuid == (uuid.UUID{}) || msgs[1].MsgUuid == msgs[2].MsgUuid {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestSearchAndWait(t *testing.T) {
	s := newSim(t, simchain.Options{})
	genesis, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := s.push(testMiner, builtin.MethodSend, nil, big.NewInt(1))
	if l, err := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, -1, false); l != nil || err != nil {
		t.Fatalf("pending message found: %+v, %v", l, err)
	}
	done := make(chan *chain.MsgLookup, 1)
	go func() {
		l, err := s.c.StateWaitMsg(ctx, c, 0, -1, false)
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	s.advance(1)
	l := <-done
	if l.Height != 2001 || !l.Message.Equals(c) || len(l.TipSet) != 1 || l.Receipt.ExitCode != 0 || l.Receipt.GasUsed != 8_000_000 {
		t.Fatalf("lookup %+v", l)
	}
	head, _ := s.c.ChainHead(ctx)
	if !head.Cids[0].Equals(l.TipSet[0]) {
		t.Fatalf("lookup tipset %v, tipset at 2001 %v", l.TipSet, head.Cids)
	}

	// Confidence: with a cancelled ctx the call answers only if the message is deep enough.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.c.StateWaitMsg(cancelled, c, 2, -1, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait for 2 epochs at depth 0: %v", err)
	}
	s.advance(2)
	if l, err := s.c.StateWaitMsg(cancelled, c, 2, -1, false); err != nil || l.Height != 2001 {
		t.Fatalf("wait at depth 2: %+v, %v", l, err)
	}

	// Lookback limits, and a search from an older tipset.
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, 1, false); l != nil {
		t.Fatal("found beyond the lookback limit")
	}
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, 2, false); l == nil {
		t.Fatal("not found within the lookback limit")
	}
	if _, err := s.c.StateWaitMsg(cancelled, c, 0, 1, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait beyond the lookback limit: %v", err)
	}
	if l, err := s.c.StateSearchMsg(ctx, genesis.Key(), c, -1, false); l != nil || err != nil {
		t.Fatalf("found from a tipset before its inclusion: %+v, %v", l, err)
	}
	if l, err := s.c.StateSearchMsg(ctx, l.TipSet, c, -1, false); l == nil || err != nil {
		t.Fatalf("not found from its own tipset: %+v, %v", l, err)
	}
}

func TestOutcomes(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a := s.seal(1, s.c.Head()-100)
	info := s.info(a)

	s.c.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome { return simchain.OutcomeOutOfGas })
	c := s.preCommit(info)
	l := s.execute(c)
	if l.Receipt.ExitCode != exitcode.SysErrOutOfGas || l.Receipt.GasUsed != s.c.Messages()[0].Message.GasLimit || s.c.PreCommit(testActor, 1) != nil {
		t.Fatalf("out of gas: %+v", l)
	}

	s.c.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome { return simchain.OutcomeExit(exitcode.ErrIllegalState) })
	l = s.execute(s.preCommit(info))
	if l.Receipt.ExitCode != exitcode.ErrIllegalState || s.c.PreCommit(testActor, 1) != nil {
		t.Fatalf("exit 20: %+v", l)
	}

	// Hold: the message and the later ones of its sender stay pending; others go on.
	var asked []uint64
	s.c.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		asked = append(asked, m.Message.Nonce)
		if m.Message.From == worker && m.Message.Nonce == 2 {
			return simchain.OutcomeHold
		}
		return simchain.OutcomeExecute
	})
	held := s.preCommit(info)
	behind := s.push(testMiner, builtin.MethodSend, nil, big.Zero())
	other := s.pushFrom(simchain.DefaultWorker(otherActor), otherMiner, builtin.MethodSend, nil, big.Zero())
	s.advance(1)
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, held, -1, false); l != nil {
		t.Fatal("held message executed")
	}
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, behind, -1, false); l != nil {
		t.Fatal("message behind a held one executed")
	}
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, other, -1, false); l == nil {
		t.Fatal("another sender's message held")
	}
	if len(asked) != 2 || asked[0] != 2 || asked[1] != 0 {
		t.Fatalf("outcome asked for nonces %v, want [2 0]", asked)
	}
	s.c.SetOutcome(nil)
	s.advance(1)
	l, _ = s.c.StateSearchMsg(ctx, chain.EmptyTSK, held, -1, false)
	if l == nil || l.Receipt.ExitCode != exitcode.Ok || s.c.PreCommit(testActor, 1) == nil {
		t.Fatalf("released message: %+v", l)
	}
	if l, _ := s.c.StateSearchMsg(ctx, chain.EmptyTSK, behind, -1, false); l == nil {
		t.Fatal("message behind released one not executed")
	}
}

func TestOutcomeMayCallTheChain(t *testing.T) {
	s := newSim(t, simchain.Options{})
	s.c.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		_ = s.c.Messages()
		_ = s.c.Head()
		return simchain.OutcomeExecute
	})
	s.expectExit(s.push(testMiner, builtin.MethodSend, nil, big.Zero()), exitcode.Ok, "")
}

func TestDownSwitch(t *testing.T) {
	s := newSim(t, simchain.Options{})
	down := errors.New("connection refused (simulated)")
	s.c.SetDown(down)
	if _, err := s.c.ChainHead(ctx); !errors.Is(err, down) {
		t.Fatalf("ChainHead while down: %v", err)
	}
	if _, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker}, nil); !errors.Is(err, down) {
		t.Fatalf("MpoolPushMessage while down: %v", err)
	}
	s.advance(1) // the chain goes on
	s.c.SetDown(nil)
	head, err := s.c.ChainHead(ctx)
	if err != nil || head.Height != 2001 {
		t.Fatalf("ChainHead after: %+v, %v", head, err)
	}
	calls := s.c.Calls()
	if calls["Filecoin.ChainHead"] != 2 || calls["Filecoin.MpoolPushMessage"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}
