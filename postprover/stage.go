package postprover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

// The stage names of the processor protocol (spec/worker.md §1.5).
const (
	StageWindowPoSt  = "window_post"
	StageWinningPoSt = "winning_post"
)

// PoStProof is a RegisteredPoStProof that crosses the processor protocol as its variant name,
// e.g. "StackedDrgWindow32GiBV1".
type PoStProof abi.RegisteredPoStProof

var postProofNames = map[abi.RegisteredPoStProof]string{
	abi.RegisteredPoStProof_StackedDrgWinning2KiBV1:    "StackedDrgWinning2KiBV1",
	abi.RegisteredPoStProof_StackedDrgWinning8MiBV1:    "StackedDrgWinning8MiBV1",
	abi.RegisteredPoStProof_StackedDrgWinning512MiBV1:  "StackedDrgWinning512MiBV1",
	abi.RegisteredPoStProof_StackedDrgWinning32GiBV1:   "StackedDrgWinning32GiBV1",
	abi.RegisteredPoStProof_StackedDrgWinning64GiBV1:   "StackedDrgWinning64GiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow2KiBV1:     "StackedDrgWindow2KiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow8MiBV1:     "StackedDrgWindow8MiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow512MiBV1:   "StackedDrgWindow512MiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow32GiBV1:    "StackedDrgWindow32GiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow64GiBV1:    "StackedDrgWindow64GiBV1",
	abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1:   "StackedDrgWindow2KiBV1_1",
	abi.RegisteredPoStProof_StackedDrgWindow8MiBV1_1:   "StackedDrgWindow8MiBV1_1",
	abi.RegisteredPoStProof_StackedDrgWindow512MiBV1_1: "StackedDrgWindow512MiBV1_1",
	abi.RegisteredPoStProof_StackedDrgWindow32GiBV1_1:  "StackedDrgWindow32GiBV1_1",
	abi.RegisteredPoStProof_StackedDrgWindow64GiBV1_1:  "StackedDrgWindow64GiBV1_1",
}

func (p PoStProof) MarshalJSON() ([]byte, error) {
	n, ok := postProofNames[abi.RegisteredPoStProof(p)]
	if !ok {
		return nil, fmt.Errorf("unknown post proof %d", int64(p))
	}
	return json.Marshal(n)
}

func (p *PoStProof) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("proof_type must be a name such as \"StackedDrgWindow2KiBV1_1\": %w", err)
	}
	for k, v := range postProofNames {
		if v == s {
			*p = PoStProof(k)
			return nil
		}
	}
	return fmt.Errorf("unknown proof_type %q", s)
}

// PoStReplicaInfo is one sector of a PoSt task.
type PoStReplicaInfo struct {
	SectorID   abi.SectorNumber `json:"sector_id"`
	CommR      [32]byte         `json:"comm_r"`
	CacheDir   string           `json:"cache_dir"`
	SealedFile string           `json:"sealed_file"`
}

// PoStTask is the task of both stages; Seed is the challenge randomness.
type PoStTask struct {
	MinerID   abi.ActorID       `json:"miner_id"`
	ProofType PoStProof         `json:"proof_type"`
	Replicas  []PoStReplicaInfo `json:"replicas"`
	Seed      [32]byte          `json:"seed"`
}

// WindowPoStOutput is the window_post answer: the proofs, or the sectors found faulty.
type WindowPoStOutput struct {
	Proofs [][]byte           `json:"proofs"`
	Faults []abi.SectorNumber `json:"faults"`
}

// WinningPoStOutput is the winning_post answer.
type WinningPoStOutput struct {
	Proofs [][]byte `json:"proofs"`
}

// taskOf is the task proving sectors.
func taskOf(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) (PoStTask, error) {
	if len(randomness) != 32 {
		return PoStTask{}, fmt.Errorf("post randomness of %d bytes: want 32", len(randomness))
	}
	t := PoStTask{MinerID: minerID, ProofType: PoStProof(postProof), Replicas: make([]PoStReplicaInfo, len(sectors))}
	copy(t.Seed[:], randomness)
	for i, s := range sectors {
		commR, err := commcid.CIDToReplicaCommitmentV1(s.SealedCID)
		if err != nil {
			return PoStTask{}, fmt.Errorf("sealed cid %s of sector %d: %w", s.SealedCID, s.SectorNumber, err)
		}
		t.Replicas[i] = PoStReplicaInfo{SectorID: s.SectorNumber, CacheDir: s.CacheDir, SealedFile: s.SealedFile}
		copy(t.Replicas[i].CommR[:], commR)
	}
	return t, nil
}

// sectorsOf reads a task back into the prover's arguments. The seal proof is the V1_1 one of
// the PoSt proof's sector size: the proofs read only the size from it.
func sectorsOf(t PoStTask) ([]SectorToProve, error) {
	postProof := abi.RegisteredPoStProof(t.ProofType)
	size, err := postProof.SectorSize()
	if err != nil {
		return nil, err
	}
	sealProof, err := sealProofOfSize(size)
	if err != nil {
		return nil, err
	}
	out := make([]SectorToProve, len(t.Replicas))
	for i, r := range t.Replicas {
		sealed, err := commcid.ReplicaCommitmentV1ToCID(r.CommR[:])
		if err != nil {
			return nil, fmt.Errorf("comm_r of sector %d: %w", r.SectorID, err)
		}
		out[i] = SectorToProve{SectorInfo: proof.SectorInfo{SealProof: sealProof, SectorNumber: r.SectorID, SealedCID: sealed},
			SealedFile: r.SealedFile, CacheDir: r.CacheDir}
	}
	return out, nil
}

func sealProofOfSize(size abi.SectorSize) (abi.RegisteredSealProof, error) {
	for _, p := range []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1_1, abi.RegisteredSealProof_StackedDrg8MiBV1_1,
		abi.RegisteredSealProof_StackedDrg512MiBV1_1, abi.RegisteredSealProof_StackedDrg32GiBV1_1, abi.RegisteredSealProof_StackedDrg64GiBV1_1} {
		if s, _ := p.SectorSize(); s == size {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no seal proof of sector size %d", size)
}

// WindowStage is the window_post stage served by p (a child's side).
type WindowStage struct{ Prover Prover }

// Process proves the task; sectors the prover found faulty come back as faults.
func (s WindowStage) Process(_ context.Context, t PoStTask) (WindowPoStOutput, error) {
	sectors, err := sectorsOf(t)
	if err != nil {
		return WindowPoStOutput{}, err
	}
	proofs, err := s.Prover.GenerateWindowPoSt(t.MinerID, abi.RegisteredPoStProof(t.ProofType), sectors, t.Seed[:])
	var faulty *FaultyError
	if errors.As(err, &faulty) {
		return WindowPoStOutput{Proofs: [][]byte{}, Faults: faulty.Sectors}, nil
	}
	if err != nil {
		return WindowPoStOutput{}, err
	}
	return WindowPoStOutput{Proofs: proofBytes(proofs), Faults: []abi.SectorNumber{}}, nil
}

// WinningStage is the winning_post stage served by p.
type WinningStage struct{ Prover Prover }

// Process proves the task.
func (s WinningStage) Process(_ context.Context, t PoStTask) (WinningPoStOutput, error) {
	sectors, err := sectorsOf(t)
	if err != nil {
		return WinningPoStOutput{}, err
	}
	proofs, err := s.Prover.GenerateWinningPoSt(t.MinerID, abi.RegisteredPoStProof(t.ProofType), sectors, t.Seed[:])
	if err != nil {
		return WinningPoStOutput{}, err
	}
	return WinningPoStOutput{Proofs: proofBytes(proofs)}, nil
}

func proofBytes(proofs []proof.PoStProof) [][]byte {
	out := make([][]byte, len(proofs))
	for i, p := range proofs {
		out[i] = p.ProofBytes
	}
	return out
}

func postProofsOf(postProof abi.RegisteredPoStProof, raw [][]byte) []proof.PoStProof {
	out := make([]proof.PoStProof, len(raw))
	for i, b := range raw {
		out[i] = proof.PoStProof{PoStProof: postProof, ProofBytes: b}
	}
	return out
}
