package randomness

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var headCid = cid.MustParse("bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4")

// fakeChain has a head, pre-commits, and randomness that records how it was asked.
type fakeChain struct {
	mu         sync.Mutex
	height     abi.ChainEpoch
	precommits map[abi.SectorNumber]abi.ChainEpoch
	paramCalls int
	draws      []string
	// onDraw runs inside a randomness call.
	onDraw func()
}

func (f *fakeChain) ChainHead(ctx context.Context) (*chain.TipSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &chain.TipSet{Cids: []cid.Cid{headCid}, Height: f.height}, nil
}

func (f *fakeChain) StateGetNetworkParams(ctx context.Context) (*chain.NetworkParams, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paramCalls++
	return &chain.NetworkParams{BlockDelaySecs: 30, PreCommitChallengeDelay: 150}, nil
}

func (f *fakeChain) StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*miner.SectorPreCommitOnChainInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if maddr.String()[1:] != "01000" || len(tsk) != 1 || tsk[0] != headCid {
		return nil, fmt.Errorf("asked for %s at %v", maddr, tsk)
	}
	epoch, ok := f.precommits[num]
	if !ok {
		return nil, nil
	}
	return &miner.SectorPreCommitOnChainInfo{Info: miner.SectorPreCommitInfo{SectorNumber: num}, PreCommitEpoch: epoch}, nil
}

func (f *fakeChain) draw(kind string, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) abi.Randomness {
	if f.onDraw != nil {
		f.onDraw()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.draws = append(f.draws, fmt.Sprintf("%s dst=%d epoch=%d entropy=%x tsk=%v", kind, dst, epoch, entropy, tsk))
	out := make([]byte, 32)
	copy(out, fmt.Sprintf("%s@%d", kind, epoch))
	return out
}

func (f *fakeChain) StateGetRandomnessFromTickets(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error) {
	return f.draw("tickets", dst, epoch, entropy, tsk), nil
}

func (f *fakeChain) StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error) {
	return f.draw("beacon", dst, epoch, entropy, tsk), nil
}

func (f *fakeChain) setHeight(h abi.ChainEpoch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.height = h
}

var sid = abi.SectorID{Miner: 1000, Number: 5}

func setup(t *testing.T, height abi.ChainEpoch) (*Randomness, *fakeChain, *sectors.Store) {
	t.Helper()
	store := sectors.New(statedb.InMemory())
	if err := store.Init(sid, abi.RegisteredSealProof_StackedDrg2KiBV1_1); err != nil {
		t.Fatal(err)
	}
	fc := &fakeChain{height: height, precommits: map[abi.SectorNumber]abi.ChainEpoch{}}
	return New(fc, store), fc, store
}

func padded(s string) string {
	b := make([]byte, 32)
	copy(b, s)
	return hex.EncodeToString(b)
}

func wantUnwrapped11001(t *testing.T, what string, err error) {
	t.Helper()
	coded, ok := err.(*api.CodedError)
	if !ok || coded.Code != 11001 || coded.Message != "error code 11001: sector state not found" {
		t.Fatalf("%s: err = %#v (%v), want the unwrapped 11001 error", what, err, err)
	}
}

func TestEntropyIsTheCBOROfTheMinerIDAddress(t *testing.T) {
	e, err := entropyOf(1000)
	// 0x43: a 3-byte CBOR byte string; 0x00: ID protocol; e807: uvarint 1000.
	if err != nil || hex.EncodeToString(e) != "4300e807" {
		t.Fatalf("entropy = %x, %v", e, err)
	}
}

func TestAssignTicketDrawsAtHeadMinusFinalityAndKeepsIt(t *testing.T) {
	r, fc, store := setup(t, 2000)
	ticket, err := r.AssignTicket(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if ticket.Epoch != 1100 || hex.EncodeToString(ticket.Ticket) != padded("tickets@1100") {
		t.Fatalf("ticket = %d %x", ticket.Epoch, ticket.Ticket)
	}
	if want := "[tickets dst=5 epoch=1100 entropy=4300e807 tsk=[" + headCid.String() + "]]"; fmt.Sprint(fc.draws) != want {
		t.Fatalf("draws = %v, want %s", fc.draws, want)
	}
	st, _ := store.Online(sid)
	if st.Ticket == nil || st.Ticket.Epoch != 1100 || hex.EncodeToString(st.Ticket.Ticket) != padded("tickets@1100") {
		t.Fatalf("stored ticket = %+v", st.Ticket)
	}

	// Every call draws afresh and overwrites.
	fc.setHeight(2010)
	ticket, err = r.AssignTicket(context.Background(), sid)
	if err != nil || ticket.Epoch != 1110 {
		t.Fatalf("second ticket = %+v, %v", ticket, err)
	}
	st, _ = store.Online(sid)
	if st.Ticket.Epoch != 1110 || hex.EncodeToString(st.Ticket.Ticket) != padded("tickets@1110") {
		t.Fatalf("stored ticket after the second call = %+v", st.Ticket)
	}
	raw, _ := json.Marshal(ticket)
	if string(raw) != `{"Ticket":"dGlja2V0c0AxMTEwAAAAAAAAAAAAAAAAAAAAAAAAAAA=","Epoch":1110}` {
		t.Fatalf("wire ticket = %s", raw)
	}
}

func TestTicketIsNotReturnedUnlessKept(t *testing.T) {
	r, fc, store := setup(t, 2000)
	// The sector is aborted while the ticket is drawn: the ticket cannot be kept, so it is not
	// handed out, and the worker learns the sector is gone.
	fc.onDraw = func() {
		if err := store.Abort(sid, "aborted meanwhile"); err != nil {
			t.Error(err)
		}
	}
	ticket, err := r.AssignTicket(context.Background(), sid)
	wantUnwrapped11001(t, "AssignTicket", err)
	if ticket.Ticket != nil {
		t.Fatalf("ticket %x handed out", ticket.Ticket)
	}
}

func TestTicketBeforeTheLookbackEpoch(t *testing.T) {
	r, _, _ := setup(t, 899)
	_, err := r.AssignTicket(context.Background(), sid)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !nr.Temporary() ||
		err.Error() != "sector s-t01000-5: the chain head is at epoch 899, before the ticket lookback of 900 epochs; retry once the chain is 900 epochs long" {
		t.Fatalf("AssignTicket at 899 = %v", err)
	}
	r, _, _ = setup(t, 900)
	if ticket, err := r.AssignTicket(context.Background(), sid); err != nil || ticket.Epoch != 0 {
		t.Fatalf("AssignTicket at 900 = %+v, %v", ticket, err)
	}
}

func TestUnknownSectorGivesUnwrapped11001(t *testing.T) {
	r, fc, _ := setup(t, 2000)
	other := abi.SectorID{Miner: 1000, Number: 6}
	_, err := r.AssignTicket(context.Background(), other)
	wantUnwrapped11001(t, "AssignTicket", err)
	_, err = r.WaitSeed(context.Background(), other)
	wantUnwrapped11001(t, "WaitSeed", err)
	if len(fc.draws) != 0 || fc.paramCalls != 0 {
		t.Fatalf("chain asked for an unknown sector: %v, %d", fc.draws, fc.paramCalls)
	}
}

func TestWaitSeedEarlySaysHowLongToWait(t *testing.T) {
	r, fc, store := setup(t, 1100)
	fc.precommits[5] = 1000
	// seed epoch 1000+150 = 1150, handed out at 1156: 56 epochs of 30s.
	resp, err := r.WaitSeed(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(resp)
	if string(raw) != `{"ShouldWait":true,"Delay":1680,"Seed":null}` {
		t.Fatalf("WaitSeed at 1100 = %s", raw)
	}
	fc.setHeight(1155)
	resp, _ = r.WaitSeed(context.Background(), sid)
	if !resp.ShouldWait || resp.Delay != 30 || resp.Seed != nil {
		t.Fatalf("WaitSeed at 1155 = %+v", resp)
	}
	if st, _ := store.Online(sid); st.Seed != nil || len(fc.draws) != 0 {
		t.Fatalf("seed drawn early: %+v, %v", st.Seed, fc.draws)
	}
}

func TestWaitSeedReadyDrawsFromTheBeaconAndKeepsIt(t *testing.T) {
	r, fc, store := setup(t, 1156)
	fc.precommits[5] = 1000
	resp, err := r.WaitSeed(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ShouldWait || resp.Delay != 0 || resp.Seed == nil || resp.Seed.Epoch != 1150 || hex.EncodeToString(resp.Seed.Seed) != padded("beacon@1150") {
		t.Fatalf("WaitSeed = %+v", resp)
	}
	if want := "[beacon dst=6 epoch=1150 entropy=4300e807 tsk=[" + headCid.String() + "]]"; fmt.Sprint(fc.draws) != want {
		t.Fatalf("draws = %v, want %s", fc.draws, want)
	}
	st, _ := store.Online(sid)
	if st.Seed == nil || st.Seed.Epoch != 1150 || hex.EncodeToString(st.Seed.Seed) != padded("beacon@1150") {
		t.Fatalf("stored seed = %+v", st.Seed)
	}
	raw, _ := json.Marshal(resp)
	if string(raw) != `{"ShouldWait":false,"Delay":0,"Seed":{"Seed":"YmVhY29uQDExNTAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","Epoch":1150}}` {
		t.Fatalf("wire response = %s", raw)
	}
	// Later calls give the same seed epoch; the network parameters were read once.
	fc.setHeight(3000)
	resp, _ = r.WaitSeed(context.Background(), sid)
	if resp.Seed == nil || resp.Seed.Epoch != 1150 || fc.paramCalls != 1 {
		t.Fatalf("later WaitSeed = %+v, %d param calls", resp, fc.paramCalls)
	}
}

func TestWaitSeedWithoutPreCommitIsATemporaryError(t *testing.T) {
	r, _, _ := setup(t, 5000)
	resp, err := r.WaitSeed(context.Background(), sid)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !nr.Temporary() || api.IsSectorStateNotFound(err) ||
		err.Error() != "sector s-t01000-5: no pre-commit on chain yet (Filecoin.StateSectorPreCommitInfo returned null); retry later" {
		t.Fatalf("WaitSeed = %+v, %v", resp, err)
	}
}

// A real full-node client whose node is down: the errors name the node and the method.
func TestNodeDownNamesNodeAndMethod(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String() + "/rpc/v1"
	l.Close()
	node, err := chain.Dial(context.Background(), endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	store := sectors.New(statedb.InMemory())
	if err := store.Init(sid, abi.RegisteredSealProof_StackedDrg2KiBV1_1); err != nil {
		t.Fatal(err)
	}
	r := New(node, store)

	_, err = r.AssignTicket(context.Background(), sid)
	if prefix := "full node " + endpoint + ": Filecoin.ChainHead: "; err == nil || !strings.HasPrefix(err.Error(), prefix) || !chain.IsNodeError(err) {
		t.Fatalf("AssignTicket = %v, want an error starting %q", err, prefix)
	}
	_, err = r.WaitSeed(context.Background(), sid)
	if prefix := "full node " + endpoint + ": Filecoin.StateGetNetworkParams: "; err == nil || !strings.HasPrefix(err.Error(), prefix) || !chain.IsNodeError(err) {
		t.Fatalf("WaitSeed = %v, want an error starting %q", err, prefix)
	}
}
