package sealverify

import (
	"testing"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

func sealInfo(t *testing.T, num abi.SectorNumber) proof.SealVerifyInfo {
	t.Helper()
	sid := abi.SectorID{Miner: 1000, Number: num}
	ticket, seed := []byte("ticket-0123456789abcdef-0123456"), []byte("seed-0123456789abcdef-012345678")
	var commD [32]byte
	commD[0] = byte(num)
	commR := mockproof.CommR(abi.RegisteredSealProof_StackedDrg2KiBV1_1, sid, ticket, commD)
	p, err := mockproof.SealProof(abi.RegisteredSealProof_StackedDrg2KiBV1_1, sid, ticket, seed, commR, commD)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := commcid.ReplicaCommitmentV1ToCID(commR[:])
	unsealed, _ := commcid.DataCommitmentV1ToCID(commD[:])
	return proof.SealVerifyInfo{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorID: sid,
		Randomness: ticket, InteractiveRandomness: seed, Proof: p, SealedCID: sealed, UnsealedCID: unsealed}
}

func TestMockVerifySeal(t *testing.T) {
	info := sealInfo(t, 7)
	if ok, err := (Mock{}).VerifySeal(info); !ok || err != nil {
		t.Fatalf("the worker's mock proof: ok=%v err=%v, want true", ok, err)
	}
	info.InteractiveRandomness = []byte("another-seed-0123456789abcdef-01")
	if ok, _ := (Mock{}).VerifySeal(info); ok {
		t.Fatal("a proof made with another seed verified")
	}
}

func TestMockAggregateRoundTrip(t *testing.T) {
	agg := proof.AggregateSealVerifyProofAndInfos{Miner: 1000, SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1,
		AggregateProof: abi.RegisteredAggregationProof_SnarkPackV2}
	var proofs [][]byte
	for n := abi.SectorNumber(1); n <= 4; n++ {
		info := sealInfo(t, n)
		agg.Infos = append(agg.Infos, proof.AggregateSealVerifyInfo{Number: n, Randomness: info.Randomness,
			InteractiveRandomness: info.InteractiveRandomness, SealedCID: info.SealedCID, UnsealedCID: info.UnsealedCID})
		proofs = append(proofs, info.Proof)
	}
	p, err := (Mock{}).AggregateSealProofs(agg, proofs)
	if err != nil || len(p) != 192 {
		t.Fatalf("aggregate: %d bytes, %v; want 192 bytes", len(p), err)
	}
	agg.Proof = p
	if ok, err := (Mock{}).VerifyAggregateSeals(agg); !ok || err != nil {
		t.Fatalf("verify the aggregate: ok=%v err=%v", ok, err)
	}
	agg.Infos[0], agg.Infos[1] = agg.Infos[1], agg.Infos[0]
	if ok, _ := (Mock{}).VerifyAggregateSeals(agg); ok {
		t.Fatal("an aggregate verified with its sectors in another order")
	}
	if _, err := (Mock{}).AggregateSealProofs(agg, proofs[:3]); err == nil {
		t.Fatal("3 proofs for 4 sectors aggregated")
	}
}
