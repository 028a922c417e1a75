//go:build ffi

package poster

import (
	ffi "github.com/filecoin-project/filecoin-ffi"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

// DefaultProver is this build's prover: filecoin-ffi.
func DefaultProver() Prover { return FFIProver{} }

// FFIProver generates WindowPoSt proofs with filecoin-ffi from the persisted sealed files and
// caches.
type FFIProver struct{}

// Name is "ffi".
func (FFIProver) Name() string { return "ffi" }

// GenerateWindowPoSt proves the sectors with ffi.GenerateWindowPoSt; a sector the proof found
// faulty fails the call, since the scheduler checked every file before.
func (FFIProver) GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	infos := make([]ffi.PrivateSectorInfo, len(sectors))
	for i, s := range sectors {
		infos[i] = ffi.PrivateSectorInfo{
			SectorInfo:       s.SectorInfo,
			CacheDirPath:     s.CacheDir,
			PoStProofType:    postProof,
			SealedSectorPath: s.SealedFile,
		}
	}
	proofs, faulty, err := ffi.GenerateWindowPoSt(minerID, ffi.NewSortedPrivateSectorInfo(infos...), randomness)
	if err != nil {
		return nil, err
	}
	if len(faulty) > 0 {
		return nil, &FaultyError{Sectors: faulty}
	}
	return proofs, nil
}
