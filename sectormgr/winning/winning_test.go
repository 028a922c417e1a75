package winning_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway/fakegateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving/provingtest"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/winning"
)

const (
	actor = abi.ActorID(10000)
	token = "gateway-token"
)

var maddr, _ = address.NewIDAddress(uint64(actor))

func sealedCID(t *testing.T, n byte) cid.Cid {
	t.Helper()
	c, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{n}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type rig struct {
	t      *testing.T
	gw     *fakegateway.Gateway
	store  provingtest.Store
	prover winning.Prover
	stop   func()
}

// newRig is a fake gateway with a token, a store holding sectors 1 and 2 of a 2KiB miner, and
// a listener of the miner connected to the gateway.
func newRig(t *testing.T) *rig {
	t.Helper()
	gw, err := fakegateway.Start("", token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	r := &rig{t: t, gw: gw, store: provingtest.Store{Root: t.TempDir(), Miner: actor, SectorSize: 2 << 10}}
	r.store.Write(t, 1, 2)
	r.prover = winning.Prover{Stores: r.store, Prover: postprover.MockProver{}}
	r.start()
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	url := r.gw.URL // a restarted gateway comes back at the same address
	l := &winning.Listener{Miner: actor, Gateway: url, Prover: r.prover, Dial: winning.GatewayDialer(url, token)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	r.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			r.t.Fatal("the listener did not stop within 10s of its context's end")
		}
	}
	r.t.Cleanup(r.stop)
	r.waitListener()
}

func (r *rig) waitListener() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.gw.WaitListener(ctx, maddr); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) computeProof(req gateway.ComputeProofRequest) ([]proof.PoStProof, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.gw.ComputeProof(ctx, maddr, req)
}

func challenge(t *testing.T, nums ...abi.SectorNumber) []proof.ExtendedSectorInfo {
	out := make([]proof.ExtendedSectorInfo, len(nums))
	for i, n := range nums {
		out[i] = proof.ExtendedSectorInfo{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: n, SealedCID: sealedCID(t, byte(n))}
	}
	return out
}

var rand32 = abi.PoStRandomness(bytes.Repeat([]byte{0xab}, 32))

// venus-miner's request through the gateway is answered with the WinningPoSt of the challenged
// sectors, over a websocket that carries the token and the venus namespace header.
func TestComputeProofIsAnsweredWithTheWinningPoSt(t *testing.T) {
	r := newRig(t)
	sectors := challenge(t, 2, 1)
	proofs, err := r.computeProof(gateway.ComputeProofRequest{SectorInfos: sectors, Rand: rand32, Height: 1234, NWVersion: 21})
	if err != nil {
		t.Fatal(err)
	}
	want := mockproof.WinningPoSt(abi.RegisteredPoStProof_StackedDrgWinning2KiBV1, actor, rand32,
		[]proof.SectorInfo{{SealProof: sectors[0].SealProof, SectorNumber: 2, SealedCID: sectors[0].SealedCID}, {SealProof: sectors[1].SealProof, SectorNumber: 1, SealedCID: sectors[1].SealedCID}})
	if len(proofs) != 1 || proofs[0].PoStProof != abi.RegisteredPoStProof_StackedDrgWinning2KiBV1 || !bytes.Equal(proofs[0].ProofBytes, want) {
		t.Fatalf("proofs = %+v, want one StackedDrgWinning2KiBV1 proof %x", proofs, want)
	}
	if bytes.Equal(want, mockproof.WindowPoSt(abi.RegisteredPoStProof_StackedDrgWinning2KiBV1, actor, rand32, nil)) {
		t.Fatal("the mock winning proof equals a window proof")
	}
	h := r.gw.Headers()
	if len(h) == 0 || h[0].Get("Authorization") != "Bearer "+token || h[0].Get(gateway.NamespaceHeader) != gateway.APINamespace {
		t.Fatalf("headers = %v", h)
	}
}

// The JSON on the wire, as venus-gateway sends and reads it (venus-shared types/gateway).
func TestComputeProofWireJSON(t *testing.T) {
	r := newRig(t)
	sealed := sealedCID(t, 1)
	payload := `{"SectorInfos":[{"SealProof":5,"SectorNumber":1,"SectorKey":null,"SealedCID":{"/":"` + sealed.String() + `"}}],` +
		`"Rand":"` + base64.StdEncoding.EncodeToString(rand32) + `","Height":1234,"NWVersion":21}`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.gw.Send(ctx, maddr, "ComputeProof", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"PoStProof":0,"ProofBytes":"` + base64.StdEncoding.EncodeToString(mockproof.WinningPoSt(abi.RegisteredPoStProof_StackedDrgWinning2KiBV1, actor, rand32,
		[]proof.SectorInfo{{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: 1, SealedCID: sealed}})) + `"}]`
	if string(resp.Payload) != want || resp.Error != "" {
		t.Fatalf("answer = %s (error %q), want %s", resp.Payload, resp.Error, want)
	}
}

// A request the manager cannot prove is answered with the reason, naming the sector, and the
// listener goes on with the next.
func TestUnprovableRequestsAreAnsweredWithTheReason(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		name string
		req  gateway.ComputeProofRequest
		want string
	}{
		{"missing sector", gateway.ComputeProofRequest{SectorInfos: challenge(t, 1, 3), Rand: rand32},
			"sector 3 of miner 10000: not in the sector index (never persisted)"},
		{"no sector", gateway.ComputeProofRequest{Rand: rand32}, "no sector challenged"},
	} {
		if _, err := r.computeProof(c.req); err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	r.store.RemoveSealed(t, 2)
	if _, err := r.computeProof(gateway.ComputeProofRequest{SectorInfos: challenge(t, 2), Rand: rand32}); err == nil ||
		!strings.HasPrefix(err.Error(), "sector 2 of miner 10000: ") {
		t.Errorf("removed sealed file: err = %v", err)
	}
	resp, err := r.gw.Send(ctx, maddr, "ComputeProof", []byte(`{"SectorInfos":"nope"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Error, "ComputeProof payload: ") || resp.Payload != nil {
		t.Errorf("bad payload answered %+v", resp)
	}
	if _, err := r.computeProof(gateway.ComputeProofRequest{SectorInfos: challenge(t, 1), Rand: rand32}); err != nil {
		t.Errorf("a good request after the bad ones: %v", err)
	}
}

// When the gateway closes the channel or goes away and comes back, the listener reconnects and
// answers again.
func TestListenerReconnects(t *testing.T) {
	r := newRig(t)
	r.gw.DropListeners()
	r.waitListener()
	if _, err := r.computeProof(gateway.ComputeProofRequest{SectorInfos: challenge(t, 1), Rand: rand32}); err != nil {
		t.Fatalf("after the channel closed: %v", err)
	}

	addr := r.gw.Addr
	r.gw.Close()
	time.Sleep(1500 * time.Millisecond) // at least one failed attempt while it is down
	gw, err := fakegateway.Start(addr, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	r.gw = gw
	r.waitListener()
	if _, err := r.computeProof(gateway.ComputeProofRequest{SectorInfos: challenge(t, 1), Rand: rand32}); err != nil {
		t.Fatalf("after the gateway came back: %v", err)
	}
	if n := gw.Listeners(maddr); n != 1 {
		t.Errorf("%d listeners after the reconnection, want 1", n)
	}
}

// A wrong token is refused before the websocket opens, and the error says so.
func TestDialWithAWrongTokenIsRefused(t *testing.T) {
	gw, err := fakegateway.Start("", token)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	c, err := gateway.Dial(context.Background(), gw.URL, "wrong")
	if err == nil {
		c.Close()
		t.Fatal("dial with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), gw.URL) || !strings.Contains(err.Error(), "check [Common.API] Token") {
		t.Errorf("err = %v, want the endpoint and the token to check", err)
	}
	if len(gw.Headers()) != 0 {
		t.Errorf("a refused request reached the handler: %v", gw.Headers())
	}
}

// The warm-up proves the miner's first active sector on chain; without one there is nothing to
// warm up.
func TestWarmupProvesTheFirstActiveSector(t *testing.T) {
	ch, node, stop := provingtest.ServeChain(t, simchain.Options{}, actor, 2<<10)
	t.Cleanup(stop)
	store := provingtest.Store{Root: t.TempDir(), Miner: actor, SectorSize: 2 << 10}
	p := winning.Prover{Stores: store, Prover: postprover.MockProver{}}

	if _, err := winning.Warmup(context.Background(), node, p, actor); !errors.Is(err, winning.ErrNoSector) {
		t.Fatalf("warm-up of a miner without sectors: %v", err)
	}
	if err := ch.ActivateSectors(actor, 7, 8); err != nil {
		t.Fatal(err)
	}
	if res, err := winning.Warmup(context.Background(), node, p, actor); err == nil ||
		res.Sector != 7 || err.Error() != "sector 7 of miner 10000: not in the sector index (never persisted)" {
		t.Fatalf("warm-up without the files: %+v %v", res, err)
	}
	store.Write(t, 7)
	res, err := winning.Warmup(context.Background(), node, p, actor)
	if err != nil || res.Sector != 7 || res.Took <= 0 {
		t.Fatalf("warm-up = %+v, %v", res, err)
	}
}
