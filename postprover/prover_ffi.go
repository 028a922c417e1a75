//go:build ffi

package postprover

import (
	ffi "github.com/filecoin-project/filecoin-ffi"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

// DefaultProver is this build's prover: filecoin-ffi.
func DefaultProver() Prover { return FFIProver{} }

// FFIProver generates PoSt proofs with filecoin-ffi from the persisted sealed files and caches.
type FFIProver struct{}

// Name is "ffi".
func (FFIProver) Name() string { return "ffi" }

func privateInfos(postProof abi.RegisteredPoStProof, sectors []SectorToProve) ffi.SortedPrivateSectorInfo {
	infos := make([]ffi.PrivateSectorInfo, len(sectors))
	for i, s := range sectors {
		infos[i] = ffi.PrivateSectorInfo{
			SectorInfo:       s.SectorInfo,
			CacheDirPath:     s.CacheDir,
			PoStProofType:    postProof,
			SealedSectorPath: s.SealedFile,
		}
	}
	return ffi.NewSortedPrivateSectorInfo(infos...)
}

// GenerateWindowPoSt proves the sectors with ffi.GenerateWindowPoSt; a sector the proof found
// faulty fails the call, since the scheduler checked every file before.
func (FFIProver) GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	proofs, faulty, err := ffi.GenerateWindowPoSt(minerID, privateInfos(postProof, sectors), FieldRandomness(randomness))
	if err != nil {
		return nil, err
	}
	if len(faulty) > 0 {
		return nil, &FaultyError{Sectors: faulty}
	}
	return proofs, nil
}

// GenerateWinningPoSt proves the challenged sectors with ffi.GenerateWinningPoSt.
func (FFIProver) GenerateWinningPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	return ffi.GenerateWinningPoSt(minerID, privateInfos(postProof, sectors), FieldRandomness(randomness))
}
