package simchain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestChainHeadAndTipSetKeys(t *testing.T) {
	s := newSim(t, simchain.Options{})
	first, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.advance(1)
	head, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := head.Blocks[0]
	if head.Height != 2001 || len(head.Cids) != 1 || len(head.Blocks) != 1 || b.Height != 2001 ||
		!cid.Cid(b.Parents[0]).Equals(first.Cids[0]) || b.Timestamp != s.c.Options().GenesisTimestamp+2001*30 ||
		len(b.Ticket.VRFProof) != 96 || b.ElectionProof.WinCount != 1 || b.BLSAggregate.Type != crypto.SigTypeBLS || b.Miner.String() != "f01000" {
		t.Fatalf("head %+v", head)
	}
	if prefix := head.Cids[0].String()[:10]; prefix != "bafy2bzace" {
		t.Fatalf("block CID %s is not dag-cbor blake2b-256", head.Cids[0])
	}
	// The same chain (same seed) has the same blocks.
	other := newSim(t, simchain.Options{})
	other.advance(1)
	if h2, _ := other.c.ChainHead(ctx); !h2.Cids[0].Equals(head.Cids[0]) {
		t.Fatal("block CIDs are not deterministic")
	}
	seeded := newSim(t, simchain.Options{Seed: []byte("another chain")})
	if h3, _ := seeded.c.ChainHead(ctx); h3.Cids[0].Equals(first.Cids[0]) {
		t.Fatal("the seed does not change the blocks")
	}
	// Keys of this chain resolve; others are Lotus's "loading tipset" error.
	if v, err := s.c.StateNetworkVersion(ctx, first.Key()); err != nil || v != network.Version25 {
		t.Fatalf("network version at an old tipset: %d, %v", v, err)
	}
	_, err = s.c.StateNetworkVersion(ctx, h3Key(t, seeded))
	if err == nil || err.Error() != "loading tipset {"+headCid(t, seeded)+"}: tipset not found" {
		t.Fatalf("foreign key: %v", err)
	}
}

func headCid(t *testing.T, s *sim) string {
	h, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h.Cids[0].String()
}

func h3Key(t *testing.T, s *sim) chain.TipSetKey {
	h, err := s.c.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h.Key()
}

func TestRandomness(t *testing.T) {
	s := newSim(t, simchain.Options{})
	entropy := minerEntropy(t, testMiner)
	r := func(kind string, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) []byte {
		t.Helper()
		get := s.c.StateGetRandomnessFromTickets
		if kind == "beacon" {
			get = s.c.StateGetRandomnessFromBeacon
		}
		out, err := get(ctx, dst, epoch, entropy, tsk)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 32 {
			t.Fatalf("randomness of %d bytes", len(out))
		}
		return out
	}
	base := r("tickets", crypto.DomainSeparationTag_SealRandomness, 1100, entropy, chain.EmptyTSK)
	if !bytes.Equal(base, r("tickets", crypto.DomainSeparationTag_SealRandomness, 1100, entropy, chain.EmptyTSK)) {
		t.Fatal("randomness is not deterministic")
	}
	for name, other := range map[string][]byte{
		"beacon":  r("beacon", crypto.DomainSeparationTag_SealRandomness, 1100, entropy, chain.EmptyTSK),
		"tag":     r("tickets", crypto.DomainSeparationTag_InteractiveSealChallengeSeed, 1100, entropy, chain.EmptyTSK),
		"epoch":   r("tickets", crypto.DomainSeparationTag_SealRandomness, 1101, entropy, chain.EmptyTSK),
		"entropy": r("tickets", crypto.DomainSeparationTag_SealRandomness, 1100, minerEntropy(t, otherMiner), chain.EmptyTSK),
	} {
		if bytes.Equal(base, other) {
			t.Fatalf("the %s does not change the randomness", name)
		}
	}
	if _, err := s.c.StateGetRandomnessFromTickets(ctx, 2, 2001, nil, chain.EmptyTSK); err == nil ||
		err.Error() != "failed to get chain randomness: cannot draw randomness from the future" {
		t.Fatalf("future tickets: %v", err)
	}
	old, _ := s.c.ChainHead(ctx)
	s.advance(5)
	if _, err := s.c.StateGetRandomnessFromBeacon(ctx, 2, 2001, nil, old.Key()); err == nil ||
		err.Error() != "failed to get beacon randomness: cannot draw randomness from the future" {
		t.Fatalf("beacon above the named tipset: %v", err)
	}
	r("beacon", 2, 2001, nil, chain.EmptyTSK)
}

func TestMinerInfoAndDeadline(t *testing.T) {
	s := newSim(t, simchain.Options{})
	mi, err := s.c.StateMinerInfo(ctx, testMiner, chain.EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(mi)
	want := `{"Owner":"f0100","Worker":"f0101","NewWorker":"\u003cempty\u003e","ControlAddresses":null,"WorkerChangeEpoch":-1,` +
		`"PeerId":null,"Multiaddrs":null,"WindowPoStProofType":10,"SectorSize":2048,"WindowPoStPartitionSectors":2,` +
		`"ConsensusFaultElapsed":-1,"PendingOwnerAddress":null,"Beneficiary":"f0100","BeneficiaryTerm":{"Quota":"0","UsedQuota":"0","Expiration":0},` +
		`"PendingBeneficiaryTerm":null}`
	if string(raw) != want {
		t.Fatalf("miner info\n%s\nwant\n%s", raw, want)
	}
	if id, _ := s.c.AccountID(simchain.DefaultOwner(testActor)); id != mi.Owner {
		t.Fatalf("owner %s is not the owner key's account %s", mi.Owner, id)
	}
	unknown, _ := address.NewIDAddress(999)
	if _, err := s.c.StateMinerInfo(ctx, unknown, chain.EmptyTSK); err == nil || err.Error() != "failed to load miner actor: actor not found" {
		t.Fatalf("unknown miner: %v", err)
	}
	if _, err := s.c.StateMinerSectorAllocated(ctx, unknown, 1, chain.EmptyTSK); err == nil || err.Error() != "failed to load miner actor: actor not found" {
		t.Fatalf("unknown miner: %v", err)
	}
	if _, err := s.c.StateSectorPreCommitInfo(ctx, worker, 1, chain.EmptyTSK); err == nil || err.Error() != "failed to load miner actor: actor not found" {
		t.Fatalf("a key address as a miner: %v", err)
	}

	di, err := s.c.StateMinerProvingDeadline(ctx, testMiner, chain.EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	if di.CurrentEpoch != 2000 || di.PeriodStart > 2000 || di.PeriodStart+2880 <= 2000 ||
		di.Open != di.PeriodStart+abi.ChainEpoch(di.Index)*60 || di.Open > 2000 || di.Close != di.Open+60 || di.Close <= 2000 ||
		di.Challenge != di.Open-20 || di.FaultCutoff != di.Open-70 || di.WPoStPeriodDeadlines != 48 || di.WPoStProvingPeriod != 2880 ||
		di.WPoStChallengeWindow != 60 || di.WPoStChallengeLookback != 20 || di.FaultDeclarationCutoff != 70 {
		t.Fatalf("deadline %+v", di)
	}
	other, _ := s.c.StateMinerProvingDeadline(ctx, otherMiner, chain.EmptyTSK)
	if other.PeriodStart == di.PeriodStart {
		t.Fatal("two miners share a proving period start")
	}
	s.advance(2880)
	next, _ := s.c.StateMinerProvingDeadline(ctx, testMiner, chain.EmptyTSK)
	if next.PeriodStart != di.PeriodStart+2880 || next.Index != di.Index {
		t.Fatalf("a period later: %+v", next)
	}
}

func TestGenesisTimestamp(t *testing.T) {
	before := uint64(time.Now().Unix())
	s := newSim(t, simchain.Options{BlockDelaySecs: 4})
	head, _ := s.c.ChainHead(ctx)
	if ts := head.Blocks[0].Timestamp; ts < before || ts > uint64(time.Now().Unix()) {
		t.Fatalf("a new chain's head has timestamp %d, not now (%d)", ts, before)
	}
	fixed := newSim(t, simchain.Options{GenesisTimestamp: 1598306400})
	head, _ = fixed.c.ChainHead(ctx)
	if head.Blocks[0].Timestamp != 1598306400+2000*30 {
		t.Fatalf("timestamp %d", head.Blocks[0].Timestamp)
	}
}

func TestNetworkParams(t *testing.T) {
	s := newSim(t, simchain.Options{NetworkName: "mocknet", BlockDelaySecs: 4})
	p, err := s.c.StateGetNetworkParams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.NetworkName != "mocknet" || p.BlockDelaySecs != 4 || p.PreCommitChallengeDelay != delay || p.GenesisTimestamp != s.c.Options().GenesisTimestamp || p.Eip155ChainID != 31415926 {
		t.Fatalf("params %+v", p)
	}
	var upgrades map[string]int64
	if err := json.Unmarshal(p.ForkUpgradeParams, &upgrades); err != nil {
		t.Fatal(err)
	}
	if len(upgrades) != 34 || upgrades["UpgradeSmokeHeight"] != -1 || upgrades["UpgradeTeepHeight"] != -29 ||
		upgrades["UpgradeTockHeight"] != 999999999999 || upgrades["BreezeGasTampingDuration"] != 0 {
		t.Fatalf("upgrades %s", p.ForkUpgradeParams)
	}
	if v, _ := s.c.StateNetworkVersion(ctx, chain.EmptyTSK); v != network.Version25 {
		t.Fatalf("network version %d", v)
	}
	if o := s.c.Options(); o.NetworkVersion != network.Version25 || o.StartHeight != 2000 || o.Verifier.Name() != "mock" {
		t.Fatalf("defaults %+v", o)
	}
}

func TestDepositAndPledgeEstimates(t *testing.T) {
	s := newSim(t, simchain.Options{})
	for _, tc := range []struct {
		proof           abi.RegisteredSealProof
		deposit, pledge string
	}{
		{proof2KiB, "2200000000000", "4400000000000"},
		{abi.RegisteredSealProof_StackedDrg32GiBV1_1, "36909875200000000000", "73819750400000000000"},
	} {
		pci := miner.SectorPreCommitInfo{SealProof: tc.proof, SectorNumber: 1}
		d, err := s.c.StateMinerPreCommitDepositForPower(ctx, testMiner, pci, chain.EmptyTSK)
		if err != nil || d.String() != tc.deposit {
			t.Fatalf("deposit %s, %v; want %s", d, err, tc.deposit)
		}
		p, err := s.c.StateMinerInitialPledgeCollateral(ctx, testMiner, pci, chain.EmptyTSK)
		if err != nil || p.String() != tc.pledge {
			t.Fatalf("pledge %s, %v; want %s", p, err, tc.pledge)
		}
	}
	if _, err := s.c.StateMinerInitialPledgeCollateral(ctx, testMiner, miner.SectorPreCommitInfo{SealProof: 999}, chain.EmptyTSK); err == nil {
		t.Fatal("no error for an unknown seal proof")
	}
}

func TestRunAndWaitHead(t *testing.T) {
	s := newSim(t, simchain.Options{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.c.Run(runCtx, time.Millisecond) }()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.c.WaitHead(wait, 2005); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run ended with %v", err)
	}
	if err := s.c.Run(ctx, 0); err == nil {
		t.Fatal("Run accepted a zero interval")
	}
}

func TestClose(t *testing.T) {
	s := newSim(t, simchain.Options{})
	waiting := make(chan error, 2)
	go func() { waiting <- s.c.WaitHead(ctx, 9999) }()
	go func() {
		_, err := s.c.StateWaitMsg(ctx, zeroCommD2KiB, 0, -1, false) // never pushed
		waiting <- err
	}()
	s.c.Close()
	for i := 0; i < 2; i++ {
		if err := <-waiting; !errors.Is(err, simchain.ErrClosed) {
			t.Fatalf("wait ended with %v", err)
		}
	}
	if _, err := s.c.ChainHead(ctx); !errors.Is(err, simchain.ErrClosed) {
		t.Fatalf("ChainHead after Close: %v", err)
	}
	if err := s.c.Advance(1); !errors.Is(err, simchain.ErrClosed) {
		t.Fatalf("Advance after Close: %v", err)
	}
}

// TestConcurrentUse pushes from many goroutines, over Go and HTTP, while the chain runs and
// others read it; every message executes once, with the nonces of its sender in push order.
func TestConcurrentUse(t *testing.T) {
	s := newSim(t, simchain.Options{})
	n := dial(t, serve(t, s.c), "")
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.c.Run(runCtx, time.Millisecond) }()
	senders := []address.Address{worker, simchain.DefaultOwner(testActor), simchain.DefaultWorker(otherActor)}
	const perSender = 20
	var wg sync.WaitGroup
	errs := make(chan error, 3*perSender*2)
	for _, from := range senders {
		for j := 0; j < 2; j++ {
			var node chain.FullNode = s.c
			if j == 1 {
				node = n
			}
			wg.Add(1)
			go func(from address.Address, node chain.FullNode) {
				defer wg.Done()
				for k := 0; k < perSender/2; k++ {
					sm, err := node.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: from, Value: big.NewInt(1)}, nil)
					if err != nil {
						errs <- err
						return
					}
					c, _ := sm.Cid()
					if _, err := node.StateWaitMsg(ctx, c, 0, -1, false); err != nil {
						errs <- err
						return
					}
					_ = s.c.Messages()
					_, _ = node.StateMinerInfo(ctx, testMiner, chain.EmptyTSK)
				}
			}(from, node)
		}
	}
	wg.Wait()
	stop()
	<-ran
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := map[address.Address]uint64{}
	for _, m := range s.c.Messages() {
		if m.Pending() || m.ExitCode != 0 || m.Message.Nonce != next[m.Message.From] {
			t.Fatalf("message %+v (want nonce %d)", m, next[m.Message.From])
		}
		next[m.Message.From]++
	}
	for _, from := range senders {
		if next[from] != perSender {
			t.Fatalf("%s sent %d messages, want %d", from, next[from], perSender)
		}
	}
	if f := s.funds(testActor); !f.Balance.Equals(big.NewInt(3 * perSender)) {
		t.Fatalf("balance %s", f.Balance)
	}
}
