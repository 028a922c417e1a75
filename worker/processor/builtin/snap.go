package builtin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
)

var updateProofSizes = map[abi.RegisteredUpdateProof]abi.SectorSize{
	abi.RegisteredUpdateProof_StackedDrg2KiBV1:   2 << 10,
	abi.RegisteredUpdateProof_StackedDrg8MiBV1:   8 << 20,
	abi.RegisteredUpdateProof_StackedDrg512MiBV1: 512 << 20,
	abi.RegisteredUpdateProof_StackedDrg32GiBV1:  32 << 30,
	abi.RegisteredUpdateProof_StackedDrg64GiBV1:  64 << 30,
}

func updateSectorSize(p processor.UpdateProof) (abi.SectorSize, error) {
	size, ok := updateProofSizes[abi.RegisteredUpdateProof(p)]
	if !ok {
		return 0, fmt.Errorf("registered_proof: unknown update proof %d", int64(p))
	}
	return size, nil
}

// replicaStamp reads the commitment a mock replica carries at offset 0, checking its size.
func replicaStamp(path string, size abi.SectorSize, field string) ([32]byte, error) {
	var stamp [32]byte
	f, err := os.Open(path)
	if err != nil {
		return stamp, fmt.Errorf("%s: %w", field, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return stamp, fmt.Errorf("%s: %w", field, err)
	}
	if st.Size() != int64(size) {
		return stamp, fmt.Errorf("%s %s is %d bytes, want the sector size %d", field, path, st.Size(), size)
	}
	if _, err := io.ReadFull(f, stamp[:]); err != nil {
		return stamp, fmt.Errorf("%s: read commitment: %w", field, err)
	}
	return stamp, nil
}

// SnapEncode is the mock snap encode: it reads the old CommR from the sector key replica and the
// new data's CommD from its tree_d, and writes an update replica and cache bound to both. Call it
// through New, which recovers panics.
func SnapEncode(ctx context.Context, task processor.SnapEncodeInput) (processor.SnapEncodeOutput, error) {
	var out processor.SnapEncodeOutput
	size, err := updateSectorSize(task.RegisteredProof)
	if err != nil {
		return out, err
	}
	commROld, err := replicaStamp(task.SectorPath, size, "sector_path")
	if err != nil {
		return out, err
	}
	commDNew, err := treed.ReadRoot(filepath.Join(task.NewCachePath, treed.FileName), size)
	if err != nil {
		return out, fmt.Errorf("new_cache_path: %w", err)
	}
	sealProof, err := api.SealProofForSize(size)
	if err != nil {
		return out, err
	}
	if err := verifyPieces(sealProof, size, task.PieceInfos, commDNew); err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	commRNew := mockproof.UpdateCommR(abi.RegisteredUpdateProof(task.RegisteredProof), commROld, commDNew)
	if err := writeSealedReplica(task.NewReplicaPath, size, commRNew); err != nil {
		return out, fmt.Errorf("write update replica %s: %w", task.NewReplicaPath, err)
	}
	if err := writeCacheFiles(task.NewCachePath, size, commRNew, commDNew); err != nil {
		return out, fmt.Errorf("write update cache files: %w", err)
	}
	_, commRLast := mockAux(commRNew)
	return processor.SnapEncodeOutput{CommRNew: commRNew, CommRLastNew: commRLast, CommDNew: commDNew}, nil
}

// SnapVanilla is the mock vanilla proof generation: it checks both replicas carry the commitments
// it is asked to prove.
func SnapVanilla(ctx context.Context, task processor.SnapVanillaInput) ([]processor.Bytes, error) {
	size, err := updateSectorSize(task.RegisteredProof)
	if err != nil {
		return nil, err
	}
	if old, err := replicaStamp(task.SectorKeyPath, size, "sector_key_path"); err != nil {
		return nil, err
	} else if old != task.CommROld {
		return nil, fmt.Errorf("sector key replica %s does not carry comm_r_old", task.SectorKeyPath)
	}
	if cur, err := replicaStamp(task.ReplicaPath, size, "replica_path"); err != nil {
		return nil, err
	} else if cur != task.CommRNew {
		return nil, fmt.Errorf("update replica %s does not carry comm_r_new", task.ReplicaPath)
	}
	var out []processor.Bytes
	for _, p := range mockproof.UpdateVanillaProofs(abi.RegisteredUpdateProof(task.RegisteredProof), task.CommROld, task.CommRNew, task.CommDNew) {
		out = append(out, p)
	}
	return out, nil
}

// SnapProve is the mock update SNARK: it checks the vanilla proofs and returns the mock proof.
func SnapProve(ctx context.Context, task processor.SnapProveInput) (processor.SnapProveOutput, error) {
	proof := abi.RegisteredUpdateProof(task.RegisteredProof)
	want := mockproof.UpdateVanillaProofs(proof, task.CommROld, task.CommRNew, task.CommDNew)
	if len(task.VanillaProofs) != len(want) {
		return nil, fmt.Errorf("vannilla_proofs: got %d partitions, want %d", len(task.VanillaProofs), len(want))
	}
	for i := range want {
		if !bytes.Equal(task.VanillaProofs[i], want[i]) {
			return nil, fmt.Errorf("vannilla_proofs[%d] does not prove these commitments", i)
		}
	}
	return mockproof.UpdateProof(proof, task.CommROld, task.CommRNew, task.CommDNew), nil
}

// SnapVerify checks a mock update proof.
func SnapVerify(_ context.Context, task processor.SnapVerifyInput) (bool, error) {
	want := mockproof.UpdateProof(abi.RegisteredUpdateProof(task.RegisteredProof), task.CommROld, task.CommRNew, task.CommDNew)
	return bytes.Equal(task.Proof, want), nil
}
