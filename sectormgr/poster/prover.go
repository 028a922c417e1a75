package poster

import (
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

// SectorToProve is a sector of a WindowPoSt with the files the proof reads.
type SectorToProve struct {
	proof.SectorInfo
	SealedFile string
	CacheDir   string
}

// Prover generates WindowPoSt proofs: the mock one in the default build, filecoin-ffi's under
// the ffi tag (prover_ffi.go).
type Prover interface {
	GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error)
	Name() string
}

// MockProver makes the mock proofs the simulated chain verifies (api/mockproof). They prove
// nothing and must never reach a real chain.
type MockProver struct{}

// Name is "mock".
func (MockProver) Name() string { return "mock" }

// GenerateWindowPoSt is one mock proof over every sector.
func (MockProver) GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	infos := make([]proof.SectorInfo, len(sectors))
	for i, s := range sectors {
		infos[i] = s.SectorInfo
	}
	return []proof.PoStProof{{PoStProof: postProof, ProofBytes: mockproof.WindowPoSt(postProof, minerID, randomness, infos)}}, nil
}
