//go:build ffi

package ffi

import (
	"context"
	"fmt"

	filffi "github.com/filecoin-project/filecoin-ffi"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// PC1 runs SealPreCommitPhase1. Its output is filecoin-ffi's bytes as they are (serde JSON).
func PC1(ctx context.Context, task processor.PC1Input) (processor.PC1Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	miner, err := minerOf(task.ProverID)
	if err != nil {
		return nil, err
	}
	pieces, err := abiPieces(task.PieceInfos)
	if err != nil {
		return nil, err
	}
	out, err := filffi.SealPreCommitPhase1(abi.RegisteredSealProof(task.RegisteredProof),
		task.CachePath, task.InPath, task.OutPath, task.SectorID, miner, task.Ticket[:], pieces)
	if err != nil {
		return nil, fmt.Errorf("filecoin-ffi SealPreCommitPhase1 of sector %d: %w", task.SectorID, err)
	}
	return jsonOutput("pc1out", out)
}

// PC2 runs SealPreCommitPhase2. The registered proof it reports is the one pc1out records.
func PC2(ctx context.Context, task processor.PC2Input) (processor.PC2Output, error) {
	var none processor.PC2Output
	if err := ctx.Err(); err != nil {
		return none, err
	}
	proof, err := pc1Proof(task.PC1Out)
	if err != nil {
		return none, err
	}
	sealed, unsealed, err := filffi.SealPreCommitPhase2(task.PC1Out, task.CacheDir, task.SealedFile)
	if err != nil {
		return none, fmt.Errorf("filecoin-ffi SealPreCommitPhase2 into %s: %w", task.SealedFile, err)
	}
	commR, commD, err := commitments(sealed, unsealed)
	if err != nil {
		return none, err
	}
	return processor.PC2Output{RegisteredProof: proof, CommR: commR, CommD: commD}, nil
}

// C1 runs SealCommitPhase1. Its output is filecoin-ffi's bytes as they are (serde JSON).
func C1(ctx context.Context, task processor.C1Input) (processor.C1Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if task.PC2Out.RegisteredProof != task.RegisteredProof {
		return nil, fmt.Errorf("pc2out is for %s, the task for %s", task.PC2Out.RegisteredProof, task.RegisteredProof)
	}
	miner, err := minerOf(task.ProverID)
	if err != nil {
		return nil, err
	}
	pieces, err := abiPieces(task.PieceInfos)
	if err != nil {
		return nil, err
	}
	sealed, err := sealedCID("pc2out comm_r", task.PC2Out.CommR)
	if err != nil {
		return nil, err
	}
	unsealed, err := unsealedCID("pc2out comm_d", task.PC2Out.CommD)
	if err != nil {
		return nil, err
	}
	out, err := filffi.SealCommitPhase1(abi.RegisteredSealProof(task.RegisteredProof), sealed, unsealed,
		task.CachePath, task.ReplicaPath, task.SectorID, miner, task.Ticket[:], task.Seed[:], pieces)
	if err != nil {
		return nil, fmt.Errorf("filecoin-ffi SealCommitPhase1 of sector %d: %w", task.SectorID, err)
	}
	return jsonOutput("c1out", out)
}

// C2 runs SealCommitPhase2, the SNARK.
func C2(ctx context.Context, task processor.C2Input) (processor.C2Output, error) {
	var none processor.C2Output
	if err := ctx.Err(); err != nil {
		return none, err
	}
	if err := realOutput("c1out", task.C1Out); err != nil {
		return none, err
	}
	// filecoin-ffi derives the prover id from miner_id; a task whose two disagree would prove
	// for the wrong miner.
	if pid, err := abi.MakeProverID(task.MinerID); err != nil || pid != task.ProverID {
		return none, fmt.Errorf("miner_id %d does not match prover_id %x", task.MinerID, task.ProverID)
	}
	proof, err := filffi.SealCommitPhase2(task.C1Out, task.SectorID, task.MinerID)
	if err != nil {
		return none, fmt.Errorf("filecoin-ffi SealCommitPhase2 of sector %d: %w", task.SectorID, err)
	}
	return processor.C2Output{Proof: proof}, nil
}
