package simchain_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func tickets(t *testing.T, c *simchain.Chain, epoch abi.ChainEpoch) abi.Randomness {
	t.Helper()
	r, err := c.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_PoStChainCommit, epoch, nil, chain.EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func headKey(t *testing.T, c *simchain.Chain) chain.TipSetKey {
	t.Helper()
	ts, err := c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ts.Key()
}

// A reorg replaces the tipsets above the fork point: new keys and tickets, the same beacon, and
// the messages they included back in the pool, to be included again in the fork.
func TestReorgReplacesTipsetsAndReincludes(t *testing.T) {
	state := filepath.Join(t.TempDir(), "chain.json")
	s := newSim(t, simchain.Options{ReorgDepth: 3, StateFile: state})
	s.advance(3)                // 2003
	forkPoint := s.c.Head() - 1 // Reorg(2) at 2004
	keptTicket := tickets(t, s.c, forkPoint)
	replacedTicket := tickets(t, s.c, forkPoint+1)
	beacon, err := s.c.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_WindowedPoStChallengeSeed, forkPoint+1, nil, chain.EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	early := s.push(testMiner, builtin.MethodSend, nil, big.NewInt(1))
	s.advance(1) // early included at 2004
	oldKey := headKey(t, s.c)
	if l, err := s.c.StateSearchMsg(ctx, chain.EmptyTSK, early, -1, false); err != nil || l == nil || l.Height != 2004 {
		t.Fatalf("before the reorg: %+v, %v", l, err)
	}
	late := s.push(testMiner, builtin.MethodSend, nil, big.NewInt(2)) // pending during the reorg

	if err := s.c.Reorg(2); err != nil { // back to 2002, then 2003 and 2004 again
		t.Fatal(err)
	}
	if h := s.c.Head(); h != 2004 {
		t.Fatalf("head %d after a reorg of the same length", h)
	}
	if k := headKey(t, s.c); k[0].Equals(oldKey[0]) {
		t.Fatal("the head kept its key across the reorg")
	}
	if _, err := s.c.StateMinerInfo(ctx, testMiner, oldKey); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("replaced tipset's key: %v", err)
	}
	if got := tickets(t, s.c, forkPoint); !bytes.Equal(got, keptTicket) {
		t.Fatal("the ticket at the fork point changed")
	}
	if got := tickets(t, s.c, forkPoint+1); bytes.Equal(got, replacedTicket) {
		t.Fatal("the ticket above the fork point did not change")
	}
	if got, _ := s.c.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_WindowedPoStChallengeSeed, forkPoint+1, nil, chain.EmptyTSK); !bytes.Equal(got, beacon) {
		t.Fatal("the beacon changed with the fork")
	}
	// Both were included again in the first tipset of the fork, in push order.
	for name, c := range map[string]cid.Cid{"early": early, "late": late} {
		l, err := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, -1, false)
		if err != nil || l == nil || l.Height != forkPoint+1 || l.Receipt.ExitCode != 0 {
			t.Fatalf("%s message after the reorg: %+v, %v", name, l, err)
		}
	}

	// The fork is in the state file: a reopened chain has the same head.
	key := headKey(t, s.c)
	again, err := simchain.Open(simchain.Options{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if k := headKey(t, again); !k[0].Equals(key[0]) {
		t.Fatalf("reopened head %v, was %v", k, key)
	}
}

func TestReorgDeeperThanTheHistoryIsRefused(t *testing.T) {
	s := newSim(t, simchain.Options{ReorgDepth: 2})
	s.advance(1)
	for _, depth := range []int{0, 2, 3} {
		err := s.c.Reorg(depth)
		if err == nil || !strings.Contains(err.Error(), "ReorgDepth 2") {
			t.Fatalf("reorg %d: %v", depth, err)
		}
	}
	none := newSim(t, simchain.Options{})
	none.advance(2)
	if err := none.c.Reorg(1); err == nil || !strings.Contains(err.Error(), "ReorgDepth 0") {
		t.Fatalf("reorg without history: %v", err)
	}
	if _, err := simchain.Open(simchain.Options{ReorgDepth: -1}); err == nil || !strings.Contains(err.Error(), "reorg depth -1") {
		t.Fatalf("negative depth: %v", err)
	}
}
