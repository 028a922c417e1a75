package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway/fakegateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/winning"
)

// BenchmarkWinningPoSt answers venus-miner's ComputeProof as `daemon run --miner` does: the
// request goes from a venus-gateway (the fake, over its websocket) to the manager's listener,
// which checks the sector's files, proves (mock) and answers through ResponseProofEvent. The
// baseline is the same proof by a direct call of the listener's prover, in the same iteration.
//
//   - answer_ms: the gateway's ComputeProof, request to decoded answer; direct_ms: the prover
//     call; x_direct: the first over the second (the cost of the gateway's round trip).
func BenchmarkWinningPoSt(b *testing.B) {
	quiet(b)
	const token = "bench-gateway"
	gw, err := fakegateway.Start("", token)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	store := sectorFiles(b, 1)
	prover := winning.Prover{Stores: store, Prover: postprover.MockProver{}}
	ctx, cancel := context.WithCancel(context.Background())
	l := &winning.Listener{Miner: chainMiner, Gateway: gw.URL, Prover: prover, Dial: winning.GatewayDialer(gw.URL, token)}
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	maddr, _ := address.NewIDAddress(uint64(chainMiner))
	wait, stopWait := context.WithTimeout(ctx, 20*time.Second)
	defer stopWait()
	if err := gw.WaitListener(wait, maddr); err != nil {
		b.Fatal(err)
	}
	sealed, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	sectors := []proof.ExtendedSectorInfo{{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: 1, SealedCID: sealed}}
	rand := abi.PoStRandomness(bytes.Repeat([]byte{0x5a}, 32))
	req := gateway.ComputeProofRequest{SectorInfos: sectors, Rand: rand, Height: 4000, NWVersion: 25}

	var answer, direct time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		got, err := gw.ComputeProof(ctx, maddr, req)
		if err != nil || len(got) != 1 {
			b.Fatalf("ComputeProof: %v %v", got, err)
		}
		answer += time.Since(start)
		start = time.Now()
		want, err := prover.Prove(chainMiner, sectors, rand)
		if err != nil {
			b.Fatal(err)
		}
		direct += time.Since(start)
		if !bytes.Equal(got[0].ProofBytes, want[0].ProofBytes) {
			b.Fatal("the gateway's answer is not the prover's proof")
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(answer.Microseconds())/1000/n, "answer_ms")
	b.ReportMetric(float64(direct.Microseconds())/1000/n, "direct_ms")
	b.ReportMetric(float64(answer)/float64(direct), "x_direct")
}
