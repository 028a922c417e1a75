package builtin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	commp "github.com/filecoin-project/go-commp-utils/v2"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// PC1 is the mock PC1. Like the real one it needs the staged file and the tree_d in cache_path,
// and checks that the pieces commit to tree_d's root; instead of labelling layers it returns the
// public inputs of the sector. Call it through New, which recovers panics.
func PC1(ctx context.Context, task processor.PC1Input) (processor.PC1Output, error) {
	size, err := sectorSize(task.RegisteredProof)
	if err != nil {
		return nil, err
	}
	if _, err := store.RequireFile(task.InPath, "in_path"); err != nil {
		return nil, err
	}
	if err := store.RequireDir(task.CachePath, "cache_path"); err != nil {
		return nil, err
	}
	commD, err := treed.ReadRoot(treeDPath(task.CachePath), size)
	if err != nil {
		return nil, fmt.Errorf("pc1 reads tree_d from cache_path: %w", err)
	}
	if err := verifyPieces(abi.RegisteredSealProof(task.RegisteredProof), size, task.PieceInfos, commD); err != nil {
		return nil, err
	}
	return json.Marshal(mockPC1Out{
		Mock:            true,
		RegisteredProof: task.RegisteredProof,
		ProverID:        task.ProverID,
		SectorID:        task.SectorID,
		Ticket:          task.Ticket,
		CommD:           commD,
		PieceInfos:      task.PieceInfos,
	})
}

// verifyPieces checks, as rust-fil-proofs' PC1 does, that the pieces fill the sector and that
// their commitments combine into the root of tree_d.
func verifyPieces(proof abi.RegisteredSealProof, size abi.SectorSize, pieces []processor.PieceInfo, commD [32]byte) error {
	if len(pieces) == 0 {
		return fmt.Errorf("piece_infos is empty: a sector holds at least one piece (a zero piece for CC)")
	}
	infos := make([]abi.PieceInfo, len(pieces))
	for i, p := range pieces {
		if err := p.Size.Validate(); err != nil {
			return fmt.Errorf("piece_infos[%d] size %d: %w", i, p.Size, err)
		}
		c, err := commcid.PieceCommitmentV1ToCID(p.Commitment[:])
		if err != nil {
			return fmt.Errorf("piece_infos[%d] commitment: %w", i, err)
		}
		infos[i] = abi.PieceInfo{Size: p.Size.Padded(), PieceCID: c}
	}
	agg, aggSize, err := commp.PieceAggregateCommP(proof, infos)
	if err != nil {
		return fmt.Errorf("piece_infos: %w", err)
	}
	if uint64(aggSize) != uint64(size) {
		return fmt.Errorf("piece_infos fill %d of the %d bytes of the sector: fill the rest with zero pieces",
			aggSize, size)
	}
	raw, err := commcid.CIDToPieceCommitmentV1(agg)
	if err != nil {
		return fmt.Errorf("piece_infos commitment: %w", err)
	}
	if !bytes.Equal(raw, commD[:]) {
		return fmt.Errorf("pieces and comm_d do not match: the pieces commit to %x, tree_d's root is %x; "+
			"build tree_d again from the staged file of these pieces", raw, commD)
	}
	return nil
}

// PC2 is the mock PC2: CommR is mockproof.CommR of the sector, and it leaves the files a real PC2
// leaves (sealed replica, tree-r-last, p_aux, t_aux) so persisting and C1 work as with real
// proofs. Call it through New, which recovers panics.
func PC2(ctx context.Context, task processor.PC2Input) (processor.PC2Output, error) {
	var none processor.PC2Output
	in, err := decodePC1Out(task.PC1Out)
	if err != nil {
		return none, err
	}
	size, err := sectorSize(in.RegisteredProof)
	if err != nil {
		return none, fmt.Errorf("pc1out: %w", err)
	}
	if err := store.RequireDir(task.CacheDir, "cache_dir"); err != nil {
		return none, err
	}
	if task.SealedFile == "" {
		return none, fmt.Errorf("sealed_file is empty: it must name the replica to write")
	}
	miner, err := MinerFromProverID(in.ProverID)
	if err != nil {
		return none, fmt.Errorf("pc1out field \"prover_id\": %w", err)
	}
	sid := abi.SectorID{Miner: miner, Number: in.SectorID}
	commR := mockproof.CommR(abi.RegisteredSealProof(in.RegisteredProof), sid, in.Ticket[:], in.CommD)

	if err := writeSealedReplica(task.SealedFile, size, commR); err != nil {
		return none, fmt.Errorf("write sealed_file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return none, err
	}
	if err := writeCacheFiles(task.CacheDir, size, commR, in.CommD); err != nil {
		return none, fmt.Errorf("write cache_dir files: %w", err)
	}
	return processor.PC2Output{RegisteredProof: in.RegisteredProof, CommR: commR, CommD: in.CommD}, nil
}

// writeSealedReplica makes the replica a sparse file of the sector size stamped with CommR at
// offset 0. Encoding the staged data would cost a full sector of I/O for a proof that proves
// nothing (PC2 is not even given the staged file), and nothing reads the mock replica's content;
// the stamp still ties the file to this sector's data through CommR, which binds CommD.
func writeSealedReplica(path string, size abi.SectorSize, commR [32]byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = f.Truncate(int64(size))
	if err == nil {
		_, err = f.WriteAt(commR[:], 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mockAux derives the mock comm_c and comm_r_last from CommR. A real CommR is
// Poseidon(comm_c, comm_r_last); here the derivation goes the other way, which keeps p_aux
// consistent with CommR for C1 to check.
func mockAux(commR [32]byte) (commC, commRLast [32]byte) {
	return fieldHash("comm_c", commR), fieldHash("comm_r_last", commR)
}

// fieldHash is a domain-separated hash of commR that is a valid field element.
func fieldHash(domain string, commR [32]byte) [32]byte {
	h := sha256.Sum256(append([]byte("venus-cluster-go/mock-"+domain+"/v1"), commR[:]...))
	h[31] &= 0x3f
	return h
}

// mockTAux is the mock t_aux: small, but JSON like the real one.
type mockTAux struct {
	Mock       bool           `json:"mock"`
	SectorSize abi.SectorSize `json:"sector_size"`
	CommR      [32]byte       `json:"comm_r"`
	CommD      [32]byte       `json:"comm_d"`
	TreeRLast  []string       `json:"tree_r_last"`
}

// pAux is the content of p_aux: comm_c || comm_r_last, as rust-fil-proofs serialises it.
func pAux(commR [32]byte) []byte {
	commC, commRLast := mockAux(commR)
	return append(append([]byte{}, commC[:]...), commRLast[:]...)
}

func writeCacheFiles(cacheDir string, size abi.SectorSize, commR, commD [32]byte) error {
	names := store.TreeRLastNames(size)
	_, commRLast := mockAux(commR)
	for _, name := range names {
		content := commRLast
		if len(names) > 1 {
			content = fieldHash(name, commR)
		}
		if err := store.WriteFileAtomic(filepath.Join(cacheDir, name), content[:], 0o644); err != nil {
			return err
		}
	}
	if err := store.WriteFileAtomic(filepath.Join(cacheDir, store.PAuxFileName), pAux(commR), 0o644); err != nil {
		return err
	}
	tAux, err := json.Marshal(mockTAux{
		Mock: true, SectorSize: size, CommR: commR, CommD: commD, TreeRLast: names,
	})
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(cacheDir, store.TAuxFileName), tAux, 0o644)
}

// C1 is the mock C1: it checks that the sector's files are where C1 reads them and agree with
// pc2out, and returns what the mock seal proof binds. Call it through New, which recovers panics.
func C1(ctx context.Context, task processor.C1Input) (processor.C1Output, error) {
	size, err := sectorSize(task.RegisteredProof)
	if err != nil {
		return nil, err
	}
	if task.PC2Out.RegisteredProof != task.RegisteredProof {
		return nil, fmt.Errorf("pc2out is for %s, the task for %s", task.PC2Out.RegisteredProof, task.RegisteredProof)
	}
	if err := checkSealedFiles(task.CachePath, task.ReplicaPath, size, task.PC2Out); err != nil {
		return nil, err
	}
	miner, err := MinerFromProverID(task.ProverID)
	if err != nil {
		return nil, fmt.Errorf("prover_id: %w", err)
	}
	sid := abi.SectorID{Miner: miner, Number: task.SectorID}
	want := mockproof.CommR(abi.RegisteredSealProof(task.RegisteredProof), sid, task.Ticket[:], task.PC2Out.CommD)
	if want != task.PC2Out.CommR {
		return nil, fmt.Errorf("pc2out comm_r %x is not the CommR of sector %d of miner %d with this ticket and comm_d: "+
			"pc2out belongs to another sector or ticket; run PC1 and PC2 again", task.PC2Out.CommR, sid.Number, sid.Miner)
	}
	return json.Marshal(mockC1Out{
		Mock:            true,
		RegisteredProof: task.RegisteredProof,
		ProverID:        task.ProverID,
		SectorID:        task.SectorID,
		Ticket:          task.Ticket,
		Seed:            task.Seed,
		CommR:           task.PC2Out.CommR,
		CommD:           task.PC2Out.CommD,
	})
}

// checkSealedFiles checks the files a real C1 reads: the replica, tree_d, tree-r-last, p_aux
// and t_aux, and that tree_d and p_aux agree with pc2out.
func checkSealedFiles(cacheDir, replica string, size abi.SectorSize, pc2 processor.PC2Output) error {
	if err := store.RequireDir(cacheDir, "cache_path"); err != nil {
		return err
	}
	st, err := store.RequireFile(replica, "replica_path")
	if err != nil {
		return err
	}
	if st.Size() != int64(size) {
		return fmt.Errorf("replica_path %s is %d bytes, the sector %d: run PC2 again", replica, st.Size(), size)
	}
	for _, name := range store.CachedFileNames(size) {
		if _, err := store.RequireFile(filepath.Join(cacheDir, name), "cache_path file"); err != nil {
			return fmt.Errorf("%w: run PC2 again", err)
		}
	}
	commD, err := treed.ReadRoot(treeDPath(cacheDir), size)
	if err != nil {
		return fmt.Errorf("c1 reads tree_d from cache_path: %w", err)
	}
	if commD != pc2.CommD {
		return fmt.Errorf("tree_d root %x in cache_path is not pc2out comm_d %x", commD, pc2.CommD)
	}
	aux, err := os.ReadFile(filepath.Join(cacheDir, store.PAuxFileName))
	if err != nil {
		return fmt.Errorf("cache_path p_aux: %w: run PC2 again", err)
	}
	if !bytes.Equal(aux, pAux(pc2.CommR)) {
		return fmt.Errorf("p_aux in %s does not belong to comm_r %x: run PC2 again", cacheDir, pc2.CommR)
	}
	return nil
}

// C2 is the mock C2: the proof is mockproof.SealProof of what c1out binds, for the sector the
// task names. Call it through New, which recovers panics.
func C2(ctx context.Context, task processor.C2Input) (processor.C2Output, error) {
	var none processor.C2Output
	in, err := decodeC1Out(task.C1Out)
	if err != nil {
		return none, err
	}
	if in.ProverID != task.ProverID {
		return none, fmt.Errorf("c1out was made for prover id %x, the task names %x", in.ProverID, task.ProverID)
	}
	if in.SectorID != task.SectorID {
		return none, fmt.Errorf("c1out was made for sector %d, the task names sector %d", in.SectorID, task.SectorID)
	}
	if pid, err := abi.MakeProverID(task.MinerID); err != nil || pid != task.ProverID {
		return none, fmt.Errorf("miner_id %d does not match prover_id %x", task.MinerID, task.ProverID)
	}
	sid := abi.SectorID{Miner: task.MinerID, Number: task.SectorID}
	proof, err := mockproof.SealProof(abi.RegisteredSealProof(in.RegisteredProof), sid, in.Ticket[:], in.Seed[:], in.CommR, in.CommD)
	if err != nil {
		return none, fmt.Errorf("c1out field \"registered_proof\": %w", err)
	}
	return processor.C2Output{Proof: proof}, nil
}
