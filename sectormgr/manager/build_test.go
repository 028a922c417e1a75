package manager

import (
	"context"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestMockProofsOnlyOnTheSimulatedNetwork(t *testing.T) {
	ctx := context.Background()
	sim := simchain.New(simchain.Options{})
	defer sim.Close()
	if err := checkProofs(ctx, sim, sealverify.Mock{}, false); err != nil {
		t.Fatalf("mock proofs on the simulated chain: %v", err)
	}

	real := simchain.New(simchain.Options{NetworkName: "calibrationnet"})
	defer real.Close()
	err := checkProofs(ctx, real, sealverify.Mock{}, false)
	want := `the full node is on network "calibrationnet", but this build verifies only mock proofs: real networks need a build with -tags ffi (make ffi); ` +
		"for a devnet that accepts mock proofs pass --unsafe-mock-proofs"
	if err == nil || err.Error() != want {
		t.Fatalf("mock proofs on calibrationnet: %v\nwant: %s", err, want)
	}
	if err := checkProofs(ctx, real, sealverify.Mock{}, true); err != nil {
		t.Fatalf("--unsafe-mock-proofs: %v", err)
	}

	real.SetDown(context.DeadlineExceeded)
	if err := checkProofs(ctx, real, sealverify.Mock{}, true); err == nil || !strings.Contains(err.Error(), "check [Common.API] Chain and Token") {
		t.Fatalf("node down at start: %v", err)
	}
}

func TestVersionTellsMockProofs(t *testing.T) {
	if v := versionString(sealverify.Mock{}); !api.IsMockManager(v) {
		t.Fatalf("a manager verifying mock proofs: Version %q does not end with %q", v, api.MockChainTag)
	}
	if v := versionString(fakeVerifier{}); api.IsMockManager(v) {
		t.Fatalf("a manager verifying real proofs: Version %q says mock", v)
	}
}

type fakeVerifier struct{ sealverify.Mock }

func (fakeVerifier) Name() string { return "ffi" }
