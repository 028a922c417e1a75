package ffi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
)

// pAuxFileName is rust-fil-proofs' p_aux: bincode of (comm_c, comm_r_last), 32 bytes each.
const pAuxFileName = "p_aux"

// minerOf is the actor id filecoin-ffi wants where our tasks carry a prover id.
func minerOf(proverID [32]byte) (abi.ActorID, error) {
	miner, err := builtin.MinerFromProverID(proverID)
	if err != nil {
		return 0, fmt.Errorf("prover_id: %w", err)
	}
	return miner, nil
}

// abiPieces converts piece_infos (commitment, unpadded size) to filecoin-ffi's pieces (piece
// CID, padded size).
func abiPieces(pieces []processor.PieceInfo) ([]abi.PieceInfo, error) {
	if len(pieces) == 0 {
		return nil, fmt.Errorf("piece_infos is empty: a sector holds at least one piece (a zero piece for CC)")
	}
	out := make([]abi.PieceInfo, len(pieces))
	for i, p := range pieces {
		if err := p.Size.Validate(); err != nil {
			return nil, fmt.Errorf("piece_infos[%d] size %d: %w", i, p.Size, err)
		}
		c, err := commcid.PieceCommitmentV1ToCID(p.Commitment[:])
		if err != nil {
			return nil, fmt.Errorf("piece_infos[%d] commitment: %w", i, err)
		}
		out[i] = abi.PieceInfo{Size: p.Size.Padded(), PieceCID: c}
	}
	return out, nil
}

func sealedCID(field string, commR [32]byte) (cid.Cid, error) {
	c, err := commcid.ReplicaCommitmentV1ToCID(commR[:])
	if err != nil {
		return cid.Undef, fmt.Errorf("%s: %w", field, err)
	}
	return c, nil
}

func unsealedCID(field string, commD [32]byte) (cid.Cid, error) {
	c, err := commcid.DataCommitmentV1ToCID(commD[:])
	if err != nil {
		return cid.Undef, fmt.Errorf("%s: %w", field, err)
	}
	return c, nil
}

// updateCIDs converts the three commitments of an update to the CIDs filecoin-ffi takes.
func updateCIDs(commROld, commRNew, commDNew [32]byte) (old, updated, data cid.Cid, err error) {
	if old, err = sealedCID("comm_r_old", commROld); err != nil {
		return
	}
	if updated, err = sealedCID("comm_r_new", commRNew); err != nil {
		return
	}
	data, err = unsealedCID("comm_d_new", commDNew)
	return
}

// commitments converts the (sealed, unsealed) CIDs filecoin-ffi returns to our raw commitments.
func commitments(sealed, unsealed cid.Cid) (commR, commD [32]byte, err error) {
	r, err := commcid.CIDToReplicaCommitmentV1(sealed)
	if err != nil {
		return commR, commD, fmt.Errorf("filecoin-ffi returned a sealed CID %s that is not a CommR: %w", sealed, err)
	}
	d, err := commcid.CIDToDataCommitmentV1(unsealed)
	if err != nil {
		return commR, commD, fmt.Errorf("filecoin-ffi returned an unsealed CID %s that is not a CommD: %w", unsealed, err)
	}
	copy(commR[:], r)
	copy(commD[:], d)
	return commR, commD, nil
}

// realOutput checks that raw (pc1out or c1out, named doc) is a JSON object made by filecoin-ffi.
// Handing rust-fil-proofs the mock processor's document would fail deep in serde; this names the
// cause instead.
func realOutput(doc string, raw []byte) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return fmt.Errorf("%s is empty: run the stage that produces it again", doc)
	}
	var probe struct {
		Mock bool `json:"mock"`
	}
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &probe) != nil {
		return fmt.Errorf("%s is not a JSON object: it was not made by filecoin-ffi", doc)
	}
	if probe.Mock {
		return fmt.Errorf("%s was made by the built-in mock processor; every stage of a sector must run "+
			"with the same kind of processor: seal this sector again with the ffi build", doc)
	}
	return nil
}

// jsonOutput returns filecoin-ffi's output bytes as the opaque JSON the worker stores, refusing
// anything that is not JSON, which would otherwise break saving the job much later.
func jsonOutput(doc string, out []byte) (json.RawMessage, error) {
	if !json.Valid(out) {
		return nil, fmt.Errorf("filecoin-ffi returned a %s that is not JSON (%d bytes)", doc, len(out))
	}
	return json.RawMessage(out), nil
}

// pc1Proof reads the registered proof rust-fil-proofs records in pc1out, which PC2's output
// reports and PC2's input does not carry.
func pc1Proof(pc1out []byte) (processor.SealProof, error) {
	if err := realOutput("pc1out", pc1out); err != nil {
		return 0, err
	}
	var doc struct {
		RegisteredProof *processor.SealProof `json:"registered_proof"`
	}
	if err := json.Unmarshal(pc1out, &doc); err != nil {
		return 0, fmt.Errorf("pc1out field \"registered_proof\": %w", err)
	}
	if doc.RegisteredProof == nil {
		return 0, fmt.Errorf("pc1out has no \"registered_proof\": it was not made by filecoin-ffi's SealPreCommitPhase1")
	}
	return *doc.RegisteredProof, nil
}

// commRLastFromPAux reads comm_r_last from the p_aux rust-fil-proofs writes into a cache
// directory. filecoin-ffi's EncodeInto drops the comm_r_last_new that rust-fil-proofs computes,
// but the p_aux it persists into new_cache_path holds it.
func commRLastFromPAux(cacheDir string) ([32]byte, error) {
	var commRLast [32]byte
	path := filepath.Join(cacheDir, pAuxFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return commRLast, fmt.Errorf("read comm_r_last_new: %w", err)
	}
	if len(b) != 64 {
		return commRLast, fmt.Errorf("%s is %d bytes, want 64 (comm_c, comm_r_last)", path, len(b))
	}
	copy(commRLast[:], b[32:])
	return commRLast, nil
}

func toBytesList(in [][]byte) []processor.Bytes {
	out := make([]processor.Bytes, len(in))
	for i, b := range in {
		out[i] = b
	}
	return out
}

func fromBytesList(in []processor.Bytes) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = b
	}
	return out
}

// fileOf gives r as an *os.File, because filecoin-ffi reads pieces by file descriptor. A reader
// that is not a file (a piece fetched over HTTP) is streamed through a pipe. release must be
// called once filecoin-ffi is done with the file; it returns the error reading r, if any, which
// is the real cause when filecoin-ffi then reports a short read.
func fileOf(r io.Reader) (f *os.File, release func() error, err error) {
	if f, ok := r.(*os.File); ok {
		return f, func() error { return nil }, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe for the piece data: %w", err)
	}
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer pw.Close()
		_, readErr = io.Copy(pw, readerOnly{r})
		// A write error means the reader end was closed: filecoin-ffi read all it wanted.
		var pathErr *os.PathError
		if errors.As(readErr, &pathErr) && pathErr.Op == "write" {
			readErr = nil
		}
	}()
	release = func() error {
		pr.Close() // unblocks the copy if filecoin-ffi stopped reading early
		<-done
		return readErr
	}
	return pr, release, nil
}

// readerOnly hides any WriterTo of the source, so io.Copy reports the source's read errors and
// the pipe's write errors apart (a ReadFrom/WriteTo path would mix them).
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }
