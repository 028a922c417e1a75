package allocator

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
	minertypes "github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

const simActor = abi.ActorID(10000)

// newSim is a simulated chain with miner f010000 (2KiB), served over HTTP as a Lotus node.
func newSim(t *testing.T) (*simchain.Chain, *chain.Node, string) {
	t.Helper()
	c := simchain.New(simchain.Options{})
	t.Cleanup(c.Close)
	if err := c.AddMiner(simchain.MinerSpec{Actor: simActor, SectorSize: kib2}); err != nil {
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
	return c, node, endpoint
}

// preCommitOnChain pre-commits sector num of f010000 on the simulated chain, as another manager
// sharing the miner would: the number is then allocated on chain.
func preCommitOnChain(t *testing.T, c *simchain.Chain, num abi.SectorNumber) {
	t.Helper()
	ctx := context.Background()
	maddr, _ := address.NewIDAddress(uint64(simActor))
	sealed, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	head := c.Head()
	info := minertypes.SectorPreCommitInfo{
		SealProof:     abi.RegisteredSealProof_StackedDrg2KiBV1_1,
		SectorNumber:  num,
		SealedCID:     sealed,
		SealRandEpoch: head - 900,
		Expiration:    head + 1 + 30*builtin.EpochsInDay + 150 + minertypes.MinSectorExpiration + 1000,
	}
	var params bytes.Buffer
	if err := (&minertypes.PreCommitSectorBatchParams2{Sectors: []minertypes.SectorPreCommitInfo{info}}).MarshalCBOR(&params); err != nil {
		t.Fatal(err)
	}
	msg := &chain.Message{
		To: maddr, From: simchain.DefaultWorker(simActor), Value: simchain.ExactPreCommitDeposit(kib2),
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
}

func TestSimchainNumberAllocatedOnChain(t *testing.T) {
	c, node, _ := newSim(t)
	preCommitOnChain(t, c, 1)
	a, store, _ := newAllocator(t, node, miner(simActor, config.SectorConfig{Enabled: true}))

	got, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if got != nil || err == nil || err.Error() != "sector allocated: m-10000-s-1" {
		t.Fatalf("AllocateSector = %s, %v; want sector allocated: m-10000-s-1", describe(got), err)
	}
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t010000-2 proof 5" {
		t.Fatalf("retry allocated %s, want s-t010000-2", got)
	}
	if last, _ := store.LastNumber(simActor); last != 2 {
		t.Fatalf("counter = %d, want 2", last)
	}
	if calls := c.Calls(); calls["Filecoin.StateMinerInfo"] != 1 || calls["Filecoin.StateMinerSectorAllocated"] != 2 {
		t.Fatalf("calls = %v, want one StateMinerInfo (cached) and two StateMinerSectorAllocated", calls)
	}
}

func TestSimchainNodeDown(t *testing.T) {
	c, node, endpoint := newSim(t)
	c.SetDown(errors.New("node is syncing"))
	a, store, _ := newAllocator(t, node, miner(simActor, config.SectorConfig{Enabled: true}))
	_, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if want := "miner actor 10000: full node " + endpoint + ": Filecoin.StateMinerInfo: node is syncing"; err == nil || err.Error() != want {
		t.Fatalf("AllocateSector = %v, want %q", err, want)
	}

	// Up for the miner info (then cached), down again for the chain check.
	c.SetDown(nil)
	allocate(t, a, api.AllocateSectorSpec{})
	c.SetDown(errors.New("node is syncing"))
	_, err = a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if want := "full node " + endpoint + ": Filecoin.StateMinerSectorAllocated: node is syncing"; err == nil || err.Error() != want {
		t.Fatalf("AllocateSector = %v, want %q", err, want)
	}
	c.SetDown(nil)
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t010000-3 proof 5" {
		t.Fatalf("after the node came back: %s, want s-t010000-3 (2 was consumed)", got)
	}
	if _, err := store.Online(abi.SectorID{Miner: simActor, Number: 2}); !api.IsSectorStateNotFound(err) {
		t.Fatalf("sector 2 has a state: %v", err)
	}
}
