//go:build ffi

package ffi

import (
	"context"
	"fmt"

	filffi "github.com/filecoin-project/filecoin-ffi"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// SnapEncode runs SectorUpdate.EncodeInto. comm_r_last_new comes from the p_aux it writes into
// new_cache_path, as filecoin-ffi does not return it.
func SnapEncode(ctx context.Context, task processor.SnapEncodeInput) (processor.SnapEncodeOutput, error) {
	var none processor.SnapEncodeOutput
	if err := ctx.Err(); err != nil {
		return none, err
	}
	pieces, err := abiPieces(task.PieceInfos)
	if err != nil {
		return none, err
	}
	sealed, unsealed, err := filffi.SectorUpdate.EncodeInto(abi.RegisteredUpdateProof(task.RegisteredProof),
		task.NewReplicaPath, task.NewCachePath, task.SectorPath, task.SectorCachePath, task.StagedDataPath, pieces)
	if err != nil {
		return none, fmt.Errorf("filecoin-ffi SectorUpdate.EncodeInto %s: %w", task.NewReplicaPath, err)
	}
	commR, commD, err := commitments(sealed, unsealed)
	if err != nil {
		return none, err
	}
	commRLast, err := commRLastFromPAux(task.NewCachePath)
	if err != nil {
		return none, err
	}
	return processor.SnapEncodeOutput{CommRNew: commR, CommRLastNew: commRLast, CommDNew: commD}, nil
}

// SnapVanilla runs SectorUpdate.GenerateUpdateVanillaProofs, one proof per partition.
func SnapVanilla(ctx context.Context, task processor.SnapVanillaInput) ([]processor.Bytes, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	old, updated, data, err := updateCIDs(task.CommROld, task.CommRNew, task.CommDNew)
	if err != nil {
		return nil, err
	}
	proofs, err := filffi.SectorUpdate.GenerateUpdateVanillaProofs(abi.RegisteredUpdateProof(task.RegisteredProof),
		old, updated, data, task.ReplicaPath, task.ReplicaCachePath, task.SectorKeyPath, task.SectorKeyCachePath)
	if err != nil {
		return nil, fmt.Errorf("filecoin-ffi SectorUpdate.GenerateUpdateVanillaProofs of %s: %w", task.ReplicaPath, err)
	}
	return toBytesList(proofs), nil
}

// SnapProve runs SectorUpdate.GenerateUpdateProofWithVanilla, the update SNARK.
func SnapProve(ctx context.Context, task processor.SnapProveInput) (processor.SnapProveOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(task.VanillaProofs) == 0 {
		return nil, fmt.Errorf("vannilla_proofs is empty: generate the vanilla proofs first")
	}
	old, updated, data, err := updateCIDs(task.CommROld, task.CommRNew, task.CommDNew)
	if err != nil {
		return nil, err
	}
	out, err := filffi.SectorUpdate.GenerateUpdateProofWithVanilla(abi.RegisteredUpdateProof(task.RegisteredProof),
		old, updated, data, fromBytesList(task.VanillaProofs))
	if err != nil {
		return nil, fmt.Errorf("filecoin-ffi SectorUpdate.GenerateUpdateProofWithVanilla: %w", err)
	}
	return out, nil
}

// SnapVerify runs SectorUpdate.VerifyUpdateProof.
func SnapVerify(ctx context.Context, task processor.SnapVerifyInput) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	old, updated, data, err := updateCIDs(task.CommROld, task.CommRNew, task.CommDNew)
	if err != nil {
		return false, err
	}
	ok, err := filffi.SectorUpdate.VerifyUpdateProof(proof.ReplicaUpdateInfo{
		UpdateProofType:      abi.RegisteredUpdateProof(task.RegisteredProof),
		OldSealedSectorCID:   old,
		NewSealedSectorCID:   updated,
		NewUnsealedSectorCID: data,
		Proof:                task.Proof,
	})
	if err != nil {
		return false, fmt.Errorf("filecoin-ffi SectorUpdate.VerifyUpdateProof: %w", err)
	}
	return ok, nil
}
