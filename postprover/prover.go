package postprover

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

// SectorToProve is a sector of a PoSt with the files the proof reads.
type SectorToProve struct {
	proof.SectorInfo
	SealedFile string
	CacheDir   string
}

// Prover generates the PoSt proofs: the mock ones in the default build, filecoin-ffi's under the
// ffi tag (prover_ffi.go). The WindowPoSt scheduler and the WinningPoSt proof events share it.
type Prover interface {
	GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error)
	GenerateWinningPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error)
	Name() string
}

// FaultyError is a proof that found sectors unreadable after the files were checked.
type FaultyError struct{ Sectors []abi.SectorNumber }

func (e *FaultyError) Error() string {
	return fmt.Sprintf("the prover found sectors %v faulty", e.Sectors)
}

// MockProver makes the mock proofs the simulated chain verifies (api/mockproof). They prove
// nothing and must never reach a real chain.
type MockProver struct{}

// Name is "mock".
func (MockProver) Name() string { return "mock" }

// GenerateWindowPoSt is one mock proof over every sector.
func (MockProver) GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	return []proof.PoStProof{{PoStProof: postProof, ProofBytes: mockproof.WindowPoSt(postProof, minerID, randomness, infosOf(sectors))}}, nil
}

// GenerateWinningPoSt is one mock proof over the challenged sectors.
func (MockProver) GenerateWinningPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	return []proof.PoStProof{{PoStProof: postProof, ProofBytes: mockproof.WinningPoSt(postProof, minerID, randomness, infosOf(sectors))}}, nil
}

func infosOf(sectors []SectorToProve) []proof.SectorInfo {
	infos := make([]proof.SectorInfo, len(sectors))
	for i, s := range sectors {
		infos[i] = s.SectorInfo
	}
	return infos
}

// FieldRandomness is PoSt randomness as the proofs take it: a field element, its top two bits
// cleared, as Lotus does before every PoSt call. r itself is left as it is.
func FieldRandomness(r abi.PoStRandomness) abi.PoStRandomness {
	out := append(abi.PoStRandomness{}, r...)
	if len(out) == 32 {
		out[31] &= 0x3f
	}
	return out
}
