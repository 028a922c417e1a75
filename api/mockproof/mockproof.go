// Package mockproof defines the mock proofs of the default build: deterministic functions of a
// sector's public inputs, with outputs of the real shapes (32-byte CommR, ProofSize bytes of seal
// proof). The worker's built-in processors produce them and the mock manager recomputes them to
// verify what it receives. They prove nothing and must never reach a real chain.
package mockproof

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

const (
	commRDomain = "venus-cluster-go/mock-comm-r/v1"
	proofDomain = "venus-cluster-go/mock-seal-proof/v1"
)

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// CommR is the mock sealed commitment of a sector: it binds the proof type, the sector, the
// ticket and the data commitment, and is a valid field element (top two bits cleared).
func CommR(proof abi.RegisteredSealProof, sid abi.SectorID, ticket []byte, commD [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(commRDomain))
	h.Write(u64(uint64(proof)))
	h.Write(u64(uint64(sid.Miner)))
	h.Write(u64(uint64(sid.Number)))
	h.Write(u64(uint64(len(ticket))))
	h.Write(ticket)
	h.Write(commD[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	out[31] &= 0x3f
	return out
}

// SealProof is the mock seal proof: proof.ProofSize() bytes (192 per partition) expanded from a
// hash of everything a real proof commits to.
func SealProof(proof abi.RegisteredSealProof, sid abi.SectorID, ticket, seed []byte, commR, commD [32]byte) ([]byte, error) {
	size, err := proof.ProofSize()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(proofDomain))
	h.Write(u64(uint64(proof)))
	h.Write(u64(uint64(sid.Miner)))
	h.Write(u64(uint64(sid.Number)))
	h.Write(u64(uint64(len(ticket))))
	h.Write(ticket)
	h.Write(u64(uint64(len(seed))))
	h.Write(seed)
	h.Write(commR[:])
	h.Write(commD[:])
	key := h.Sum(nil)

	out := make([]byte, 0, size+sha256.Size)
	for counter := uint64(0); uint64(len(out)) < size; counter++ {
		block := sha256.Sum256(append(append([]byte{}, key...), u64(counter)...))
		out = append(out, block[:]...)
	}
	return out[:size], nil
}

const (
	updateCommRDomain   = "venus-cluster-go/mock-update-comm-r/v1"
	updateVanillaDomain = "venus-cluster-go/mock-update-vanilla/v1"
	updateProofDomain   = "venus-cluster-go/mock-update-proof/v1"
)

// UpdateCommR is the mock CommR of a snapped-up sector: it binds the old replica and the new data.
func UpdateCommR(proof abi.RegisteredUpdateProof, commROld, commDNew [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(updateCommRDomain))
	h.Write(u64(uint64(proof)))
	h.Write(commROld[:])
	h.Write(commDNew[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	out[31] &= 0x3f
	return out
}

// UpdatePartitions is how many partitions an update proof has: 16 for 32GiB and 64GiB, else 1.
func UpdatePartitions(proof abi.RegisteredUpdateProof) int {
	if proof == abi.RegisteredUpdateProof_StackedDrg32GiBV1 || proof == abi.RegisteredUpdateProof_StackedDrg64GiBV1 {
		return 16
	}
	return 1
}

// UpdateVanillaProofs are the mock vanilla proofs of an update, one 32-byte proof per partition.
func UpdateVanillaProofs(proof abi.RegisteredUpdateProof, commROld, commRNew, commDNew [32]byte) [][]byte {
	out := make([][]byte, UpdatePartitions(proof))
	for i := range out {
		h := sha256.New()
		h.Write([]byte(updateVanillaDomain))
		h.Write(u64(uint64(proof)))
		h.Write(u64(uint64(i)))
		h.Write(commROld[:])
		h.Write(commRNew[:])
		h.Write(commDNew[:])
		out[i] = h.Sum(nil)
	}
	return out
}

// UpdateProof is the mock snap-up proof: 192 bytes per partition bound to the three commitments.
func UpdateProof(proof abi.RegisteredUpdateProof, commROld, commRNew, commDNew [32]byte) []byte {
	size := 192 * UpdatePartitions(proof)
	h := sha256.New()
	h.Write([]byte(updateProofDomain))
	h.Write(u64(uint64(proof)))
	h.Write(commROld[:])
	h.Write(commRNew[:])
	h.Write(commDNew[:])
	key := h.Sum(nil)
	out := make([]byte, 0, size+sha256.Size)
	for counter := uint64(0); len(out) < size; counter++ {
		block := sha256.Sum256(append(append([]byte{}, key...), u64(counter)...))
		out = append(out, block[:]...)
	}
	return out[:size]
}

const (
	windowPoStDomain  = "venus-cluster-go/mock-window-post/v1"
	winningPoStDomain = "venus-cluster-go/mock-winning-post/v1"
)

// WindowPoStProofSize is the size of a mock WindowPoSt proof, one partition's SNARK.
const WindowPoStProofSize = 192

// WinningPoStProofSize is the size of a mock WinningPoSt proof, as a real one.
const WinningPoStProofSize = 192

// WindowPoSt is the mock WindowPoSt proof of a miner's sectors (in sector number order) for
// the challenge randomness: 192 bytes bound to every sector's number and sealed CID.
func WindowPoSt(postProof abi.RegisteredPoStProof, minerID abi.ActorID, randomness []byte, sectors []proof.SectorInfo) []byte {
	return postProofOf(windowPoStDomain, WindowPoStProofSize, postProof, minerID, randomness, sectors)
}

// WinningPoSt is the mock WinningPoSt proof of the challenged sectors, bound as WindowPoSt is
// but in its own domain, so that neither proof stands for the other.
func WinningPoSt(postProof abi.RegisteredPoStProof, minerID abi.ActorID, randomness []byte, sectors []proof.SectorInfo) []byte {
	return postProofOf(winningPoStDomain, WinningPoStProofSize, postProof, minerID, randomness, sectors)
}

func postProofOf(domain string, size int, postProof abi.RegisteredPoStProof, minerID abi.ActorID, randomness []byte, sectors []proof.SectorInfo) []byte {
	sorted := slices.Clone(sectors)
	slices.SortFunc(sorted, func(a, b proof.SectorInfo) int { return cmp.Compare(a.SectorNumber, b.SectorNumber) })
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(u64(uint64(postProof)))
	h.Write(u64(uint64(minerID)))
	h.Write(u64(uint64(len(randomness))))
	h.Write(randomness)
	for _, s := range sorted {
		h.Write(u64(uint64(s.SectorNumber)))
		h.Write(s.SealedCID.Bytes())
	}
	key := h.Sum(nil)
	out := make([]byte, 0, size)
	for counter := uint64(0); len(out) < size; counter++ {
		block := sha256.Sum256(append(append([]byte{}, key...), u64(counter)...))
		out = append(out, block[:]...)
	}
	return out[:size]
}
