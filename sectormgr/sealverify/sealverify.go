// Package sealverify checks and aggregates seal proofs for the manager and the simulated chain.
// The default build knows only the mock proofs of api/mockproof; under the ffi build tag the
// manager uses filecoin-ffi instead (ffi.go). Both sides of a mock cluster (the manager before
// it sends a proof, the simulated chain when it executes one) use Mock, so they agree.
package sealverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

// Verifier checks seal proofs.
type Verifier interface {
	VerifySeal(info proof.SealVerifyInfo) (bool, error)
	// AggregateSealProofs folds the proofs (in the order of agg.Infos) into one aggregate proof.
	AggregateSealProofs(agg proof.AggregateSealVerifyProofAndInfos, proofs [][]byte) ([]byte, error)
	VerifyAggregateSeals(agg proof.AggregateSealVerifyProofAndInfos) (bool, error)
	VerifyWindowPoSt(info proof.WindowPoStVerifyInfo) (bool, error)
	// Name says which proofs this verifier knows: "mock" or "ffi".
	Name() string
}

// Mock verifies the mock proofs of api/mockproof. It proves nothing and must never face a real
// chain.
type Mock struct{}

var _ Verifier = Mock{}

// Name is "mock".
func (Mock) Name() string { return "mock" }

// VerifySeal recomputes the mock seal proof from the sector's public inputs.
func (Mock) VerifySeal(info proof.SealVerifyInfo) (bool, error) {
	want, err := mockSealProof(info.SealProof, info.SectorID, info.Randomness, info.InteractiveRandomness, info.SealedCID, info.UnsealedCID)
	if err != nil {
		return false, err
	}
	return bytes.Equal(info.Proof, want), nil
}

// VerifyWindowPoSt recomputes the mock WindowPoSt proof of the challenged sectors: one proof,
// as the actor accepts it.
func (Mock) VerifyWindowPoSt(info proof.WindowPoStVerifyInfo) (bool, error) {
	if len(info.Proofs) != 1 {
		return false, fmt.Errorf("expected exactly one proof, got %d", len(info.Proofs))
	}
	p := info.Proofs[0]
	want := mockproof.WindowPoSt(p.PoStProof, info.Prover, info.Randomness, info.ChallengedSectors)
	return bytes.Equal(p.ProofBytes, want), nil
}

const aggregateDomain = "venus-cluster-go/mock-aggregate/v1"

// AggregateSealProofs is the mock aggregate: a hash over the aggregated sectors' proofs, 192
// bytes like a small SnarkPack proof.
func (Mock) AggregateSealProofs(agg proof.AggregateSealVerifyProofAndInfos, proofs [][]byte) ([]byte, error) {
	if len(proofs) != len(agg.Infos) {
		return nil, fmt.Errorf("aggregate %d proofs for %d sectors", len(proofs), len(agg.Infos))
	}
	h := sha256.New()
	h.Write([]byte(aggregateDomain))
	binary.Write(h, binary.BigEndian, uint64(agg.Miner))
	binary.Write(h, binary.BigEndian, uint64(agg.SealProof))
	binary.Write(h, binary.BigEndian, uint64(agg.AggregateProof))
	for i, info := range agg.Infos {
		binary.Write(h, binary.BigEndian, uint64(info.Number))
		binary.Write(h, binary.BigEndian, uint64(len(proofs[i])))
		h.Write(proofs[i])
	}
	key := h.Sum(nil)
	out := make([]byte, 0, 192)
	for counter := uint64(0); len(out) < 192; counter++ {
		block := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte{}, key...), counter))
		out = append(out, block[:]...)
	}
	return out[:192], nil
}

// VerifyAggregateSeals recomputes each sector's mock proof and the aggregate over them.
func (m Mock) VerifyAggregateSeals(agg proof.AggregateSealVerifyProofAndInfos) (bool, error) {
	proofs := make([][]byte, len(agg.Infos))
	for i, info := range agg.Infos {
		sid := abi.SectorID{Miner: agg.Miner, Number: info.Number}
		p, err := mockSealProof(agg.SealProof, sid, info.Randomness, info.InteractiveRandomness, info.SealedCID, info.UnsealedCID)
		if err != nil {
			return false, err
		}
		proofs[i] = p
	}
	want, err := m.AggregateSealProofs(agg, proofs)
	if err != nil {
		return false, err
	}
	return bytes.Equal(agg.Proof, want), nil
}

func mockSealProof(sp abi.RegisteredSealProof, sid abi.SectorID, ticket, seed []byte, sealed, unsealed cid.Cid) ([]byte, error) {
	commR, commD, err := Commitments(sealed, unsealed)
	if err != nil {
		return nil, err
	}
	return mockproof.SealProof(sp, sid, ticket, seed, commR, commD)
}

// Commitments turns a sealed and an unsealed CID back into CommR and CommD.
func Commitments(sealed, unsealed cid.Cid) (commR, commD [32]byte, err error) {
	r, err := commcid.CIDToReplicaCommitmentV1(sealed)
	if err != nil {
		return commR, commD, fmt.Errorf("sealed CID %s: %w", sealed, err)
	}
	d, err := commcid.CIDToDataCommitmentV1(unsealed)
	if err != nil {
		return commR, commD, fmt.Errorf("unsealed CID %s: %w", unsealed, err)
	}
	copy(commR[:], r)
	copy(commD[:], d)
	return commR, commD, nil
}
