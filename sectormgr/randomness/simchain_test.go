package randomness

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/filecoin-project/go-address"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const simActor = abi.ActorID(10000)

var simSector = abi.SectorID{Miner: simActor, Number: 1}

// simSetup is a simulated chain (head 2000, challenge delay 150, 30s epochs) with miner f010000
// served over HTTP as a Lotus node, and a store where sector 1 of the miner is online.
func simSetup(t *testing.T) (*simchain.Chain, *Randomness, *sectors.Store, string) {
	t.Helper()
	c := simchain.New(simchain.Options{})
	t.Cleanup(c.Close)
	if err := c.AddMiner(simchain.MinerSpec{Actor: simActor, SectorSize: 2 << 10}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	endpoint := srv.URL + simchain.RPCPath
	node, err := chain.Dial(context.Background(), endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	store := sectors.New(statedb.InMemory())
	if err := store.Init(simSector, abi.RegisteredSealProof_StackedDrg2KiBV1_1); err != nil {
		t.Fatal(err)
	}
	return c, New(node, store), store, endpoint
}

// preCommitOnChain pre-commits the sector with its ticket epoch and mines the tipset that
// includes the message; it returns the pre-commit epoch.
func preCommitOnChain(t *testing.T, c *simchain.Chain, num abi.SectorNumber, ticketEpoch abi.ChainEpoch) abi.ChainEpoch {
	t.Helper()
	ctx := context.Background()
	maddr, _ := address.NewIDAddress(uint64(simActor))
	sealed, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	info := miner.SectorPreCommitInfo{
		SealProof:     abi.RegisteredSealProof_StackedDrg2KiBV1_1,
		SectorNumber:  num,
		SealedCID:     sealed,
		SealRandEpoch: ticketEpoch,
		Expiration:    c.Head() + 1 + 30*builtin.EpochsInDay + 150 + miner.MinSectorExpiration + 1000,
	}
	var params bytes.Buffer
	if err := (&miner.PreCommitSectorBatchParams2{Sectors: []miner.SectorPreCommitInfo{info}}).MarshalCBOR(&params); err != nil {
		t.Fatal(err)
	}
	msg := &chain.Message{
		To: maddr, From: simchain.DefaultWorker(simActor), Value: simchain.ExactPreCommitDeposit(2 << 10),
		Method: builtin.MethodsMiner.PreCommitSectorBatch2, Params: params.Bytes(),
	}
	sm, err := c.MpoolPushMessage(ctx, msg, &chain.MessageSendSpec{MsgUuid: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Advance(1); err != nil {
		t.Fatal(err)
	}
	mc, _ := sm.Cid()
	l, err := c.StateSearchMsg(ctx, chain.EmptyTSK, mc, -1, false)
	if err != nil || l == nil || l.Receipt.ExitCode != exitcode.Ok {
		t.Fatalf("pre-commit of %d: %+v, %v", num, l, err)
	}
	return l.Height
}

func advance(t *testing.T, c *simchain.Chain, n int) {
	t.Helper()
	if err := c.Advance(n); err != nil {
		t.Fatal(err)
	}
}

// TestSimchainSealRandomness walks a sector from its ticket to its seed on the simulated chain.
func TestSimchainSealRandomness(t *testing.T) {
	c, r, store, _ := simSetup(t)
	ctx := context.Background()
	entropy, _ := entropyOf(simActor)

	ticket, err := r.AssignTicket(ctx, simSector)
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_SealRandomness, 1100, entropy, chain.EmptyTSK)
	if err != nil || ticket.Epoch != 1100 || !bytes.Equal(ticket.Ticket, want) || len(want) != 32 {
		t.Fatalf("ticket = %d %x, want 1100 %x (%v)", ticket.Epoch, ticket.Ticket, want, err)
	}
	if st, _ := store.Online(simSector); st.Ticket == nil || !bytes.Equal(st.Ticket.Ticket, want) {
		t.Fatalf("stored ticket = %+v", st.Ticket)
	}

	// No pre-commit yet.
	_, err = r.WaitSeed(ctx, simSector)
	if err == nil || err.Error() != "sector s-t010000-1: no pre-commit on chain yet (Filecoin.StateSectorPreCommitInfo returned null); retry later" {
		t.Fatalf("WaitSeed before the pre-commit = %v", err)
	}

	pcEpoch := preCommitOnChain(t, c, simSector.Number, ticket.Epoch)
	if pcEpoch != 2001 {
		t.Fatalf("pre-commit epoch %d, want 2001", pcEpoch)
	}
	// Seed epoch 2001+150 = 2151, handed out at 2157.
	resp, err := r.WaitSeed(ctx, simSector)
	if err != nil || !resp.ShouldWait || resp.Delay != (2157-2001)*30 || resp.Seed != nil {
		t.Fatalf("WaitSeed at 2001 = %+v, %v; want a wait of 4680s", resp, err)
	}
	advance(t, c, 155)
	if resp, err := r.WaitSeed(ctx, simSector); err != nil || !resp.ShouldWait || resp.Delay != 30 {
		t.Fatalf("WaitSeed at 2156 = %+v, %v", resp, err)
	}
	advance(t, c, 1)
	resp, err = r.WaitSeed(ctx, simSector)
	if err != nil || resp.ShouldWait || resp.Delay != 0 || resp.Seed == nil {
		t.Fatalf("WaitSeed at 2157 = %+v, %v", resp, err)
	}
	wantSeed, err := c.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_InteractiveSealChallengeSeed, 2151, entropy, chain.EmptyTSK)
	if err != nil || resp.Seed.Epoch != 2151 || !bytes.Equal(resp.Seed.Seed, wantSeed) {
		t.Fatalf("seed = %d %x, want 2151 %x (%v)", resp.Seed.Epoch, resp.Seed.Seed, wantSeed, err)
	}
	if st, _ := store.Online(simSector); st.Seed == nil || st.Seed.Epoch != 2151 || !bytes.Equal(st.Seed.Seed, wantSeed) {
		t.Fatalf("stored seed = %+v", st.Seed)
	}

	// The pre-commit expires: the seed is not ready again, with a clear error.
	if removed, err := c.RemovePreCommit(simActor, simSector.Number); !removed || err != nil {
		t.Fatalf("RemovePreCommit = %v, %v", removed, err)
	}
	_, err = r.WaitSeed(ctx, simSector)
	var nr *NotReadyError
	if !errors.As(err, &nr) || err.Error() != "sector s-t010000-1: no pre-commit on chain yet (Filecoin.StateSectorPreCommitInfo returned null); retry later" {
		t.Fatalf("WaitSeed after the pre-commit expired = %v", err)
	}
	if calls := c.Calls(); calls["Filecoin.StateGetNetworkParams"] != 1 {
		t.Fatalf("network params read %d times, want once", calls["Filecoin.StateGetNetworkParams"])
	}
}

func TestSimchainNodeDown(t *testing.T) {
	c, r, store, endpoint := simSetup(t)
	ctx := context.Background()
	c.SetDown(errors.New("node is down for maintenance"))
	_, err := r.AssignTicket(ctx, simSector)
	if want := "full node " + endpoint + ": Filecoin.ChainHead: node is down for maintenance"; err == nil || err.Error() != want {
		t.Fatalf("AssignTicket = %v, want %q", err, want)
	}
	if st, _ := store.Online(simSector); st.Ticket != nil {
		t.Fatalf("ticket stored: %+v", st.Ticket)
	}
	_, err = r.WaitSeed(ctx, simSector)
	if want := "full node " + endpoint + ": Filecoin.StateGetNetworkParams: node is down for maintenance"; err == nil || err.Error() != want {
		t.Fatalf("WaitSeed = %v, want %q", err, want)
	}

	// The parameters are cached once read; a node down later fails the head.
	c.SetDown(nil)
	if _, err := r.WaitSeed(ctx, simSector); err == nil {
		t.Fatal("WaitSeed without pre-commit succeeded")
	}
	c.SetDown(errors.New("node is down for maintenance"))
	_, err = r.WaitSeed(ctx, simSector)
	if want := "full node " + endpoint + ": Filecoin.ChainHead: node is down for maintenance"; err == nil || err.Error() != want || !chain.IsNodeError(err) {
		t.Fatalf("WaitSeed = %v, want %q", err, want)
	}
	// An unknown sector is 11001 even with the node down.
	_, err = r.WaitSeed(ctx, abi.SectorID{Miner: simActor, Number: 9})
	if !api.IsSectorStateNotFound(err) {
		t.Fatalf("unknown sector with the node down: %v", err)
	}
}
