package fakegateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway/fakegateway"
)

// A listener's answer reaches the gateway and the call returns: the request goes one way on the
// channel, the answer the other way as a call.
func TestAnswerRoundTrip(t *testing.T) {
	gw, err := fakegateway.Start("", "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gateway.Dial(ctx, gw.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	maddr, _ := address.NewIDAddress(10000)
	ch, err := c.ListenProofEvent(ctx, &gateway.ProofRegisterPolicy{MinerAddress: maddr})
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Method != gateway.MethodInitConnect {
		t.Fatalf("first event %+v", ev)
	}
	got := make(chan error, 1)
	go func() {
		resp, err := gw.Send(ctx, maddr, "ComputeProof", []byte(`{}`))
		if err == nil && string(resp.Payload) != "[]" {
			t.Errorf("payload %s", resp.Payload)
		}
		got <- err
	}()
	ev := <-ch
	go func() {
		for range ch {
		}
	}()
	if err := c.ResponseProofEvent(ctx, &gateway.ResponseEvent{ID: ev.ID, Payload: []byte("[]")}); err != nil {
		t.Fatalf("ResponseProofEvent: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
