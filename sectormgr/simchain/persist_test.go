package simchain_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.json")
	opts := simchain.Options{StateFile: path}
	s := newSim(t, opts)
	a := s.seal(1, s.c.Head()-100)
	s.preCommitted(a)
	s.addDeal(3, testMiner, pieceCid(t, 2), 2048, 9000, 700000)
	id := uuid.New()
	pending, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.NewInt(5)}, &chain.MessageSendSpec{MsgUuid: id})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := s.c.ChainHead(ctx)
	before := s.c.Messages()
	info, _ := s.c.StateMinerInfo(ctx, testMiner, chain.EmptyTSK)
	s.c.Close()

	// A restart with other options: the file's seed and height win.
	s2 := newSim(t, simchain.Options{StateFile: path, Seed: []byte("ignored"), StartHeight: 5000, GenesisTimestamp: 1})
	if got, want := s2.c.Options().GenesisTimestamp, s.c.Options().GenesisTimestamp; got != want || head2Timestamp(t, s2) != want+2001*30 {
		t.Fatalf("genesis timestamp after restart %d, want %d", got, want)
	}
	head2, err := s2.c.ChainHead(ctx)
	if err != nil || !head2.Cids[0].Equals(head.Cids[0]) || head2.Height != 2001 {
		t.Fatalf("head after restart %+v, %v; want %+v", head2, err, head)
	}
	if pc := s2.c.PreCommit(testActor, 1); pc == nil || pc.PreCommitEpoch != 2001 || !pc.Info.SealedCID.Equals(a.sealed) {
		t.Fatalf("pre-commit after restart %+v", pc)
	}
	equalFunds(t, s2.funds(testActor), deposit2KiB, deposit2KiB, big.Zero())
	if info2, _ := s2.c.StateMinerInfo(ctx, testMiner, chain.EmptyTSK); info2.Worker != info.Worker || info2.Owner != info.Owner {
		t.Fatalf("miner info after restart %+v, before %+v", info2, info)
	}
	after := s2.c.Messages()
	if len(after) != 2 || !after[0].Cid.Equals(before[0].Cid) || after[0].Included != 2001 || !after[1].Pending() || after[1].MsgUuid != id {
		t.Fatalf("messages after restart %+v", after)
	}
	if _, ok := after[0].Params.(*miner.PreCommitSectorBatchParams2); !ok {
		t.Fatalf("params after restart %#v", after[0].Params)
	}
	// The uuid is remembered, the nonce goes on, and the pending message executes.
	again, err := s2.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.NewInt(5)}, &chain.MessageSendSpec{MsgUuid: id})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := pending.Cid()
	c2, _ := again.Cid()
	if !c1.Equals(c2) {
		t.Fatal("MsgUuid forgotten across a restart")
	}
	next, err := s2.c.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: worker, Value: big.Zero()}, nil)
	if err != nil || next.Message.Nonce != 2 {
		t.Fatalf("nonce after restart: %+v, %v", next, err)
	}
	s2.advance(1)
	if l, _ := s2.c.StateSearchMsg(ctx, chain.EmptyTSK, c1, -1, false); l == nil || l.Height != 2002 || l.Receipt.ExitCode != exitcode.Ok {
		t.Fatalf("pending message after restart: %+v", l)
	}
	// The deal is there: a second AddDeal of its id fails.
	if err := s2.c.AddDeal(3, market.DealProposal{}); err == nil {
		t.Fatal("deal 3 lost across a restart")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("files next to the state file: %v", entries)
	}
}

func TestStateFileKeepsMessageOutcome(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.json")
	s := newSim(t, simchain.Options{StateFile: path})
	c := s.push(testMiner, 99, nil, big.Zero())
	s.expectExit(c, exitcode.ErrUnhandledMessage, "no method 99")
	s.c.Close()
	s2 := newSim(t, simchain.Options{StateFile: path})
	l, err := s2.c.StateWaitMsg(ctx, c, 0, -1, false)
	if err != nil || l.Receipt.ExitCode != exitcode.ErrUnhandledMessage || s2.reason(c) != s.reason(c) {
		t.Fatalf("lookup after restart %+v, %v", l, err)
	}
}

func TestCorruptStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.json")
	garbage := []byte(`{"Version":1,"Seed":`)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := simchain.Open(simchain.Options{StateFile: path})
	want := "simchain: state file " + path + " is corrupt: unexpected EOF (move it away to start a new chain)"
	if err == nil || err.Error() != want {
		t.Fatalf("Open: %v\nwant %s", err, want)
	}
	// New cannot return the error: its chain answers every call with it and leaves the file be.
	c := simchain.New(simchain.Options{StateFile: path})
	defer c.Close()
	if _, err := c.ChainHead(ctx); err == nil || err.Error() != want {
		t.Fatalf("ChainHead of a chain from a corrupt file: %v", err)
	}
	if err := c.Advance(1); err == nil || err.Error() != want {
		t.Fatalf("Advance: %v", err)
	}
	if err := c.AddMiner(simchain.MinerSpec{Actor: testActor, SectorSize: size2KiB}); err == nil {
		t.Fatal("AddMiner on a broken chain")
	}
	if raw, _ := os.ReadFile(path); !bytes.Equal(raw, garbage) {
		t.Fatalf("the corrupt file was overwritten: %s", raw)
	}

	// Well-formed JSON with broken contents is corrupt too.
	if err := os.WriteFile(path, []byte(`{"Version":1,"Seed":"c2VlZA==","Genesis":10,"Head":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := simchain.Open(simchain.Options{StateFile: path}); err == nil || !strings.Contains(err.Error(), "is corrupt: head 5 below genesis 10") {
		t.Fatalf("Open: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"Version":7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := simchain.Open(simchain.Options{StateFile: path}); err == nil || err.Error() != "simchain: state file "+path+" has format version 7, this program reads 1" {
		t.Fatalf("Open: %v", err)
	}
}

func TestStateFileUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "chain.json")
	_, err := simchain.Open(simchain.Options{StateFile: path})
	if err == nil || !strings.HasPrefix(err.Error(), "simchain: save state to "+path+": ") {
		t.Fatalf("Open: %v", err)
	}
}

func TestStateFileIsJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.json")
	s := newSim(t, simchain.Options{StateFile: path})
	s.expectExit(s.push(testMiner, builtin.MethodSend, nil, big.NewInt(9)), exitcode.Ok, "")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Head   int64
		Miners []struct {
			Actor   uint64
			Balance string
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Head != 2001 || len(f.Miners) != 2 || f.Miners[0].Actor != 10000 || f.Miners[0].Balance != "9" {
		t.Fatalf("state file %s (%v)", raw, err)
	}
}

func head2Timestamp(t *testing.T, s *sim) uint64 {
	t.Helper()
	h, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h.Blocks[0].Timestamp
}
