//go:build ffi

package ffi

import (
	"context"
	"fmt"
	"io"
	"os"

	filffi "github.com/filecoin-project/filecoin-ffi"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// AddPieceInput is one piece to add to a sector's staged file. It is in-process only: the
// vc-processors protocol has no AddPiece stage.
type AddPieceInput struct {
	RegisteredProof processor.SealProof
	// Piece yields the piece's unpadded bytes; a file is read directly, anything else (an HTTP
	// body) through a pipe.
	Piece     io.Reader
	PieceSize abi.UnpaddedPieceSize
	// Staged is the staged sector file, written at its current offset, which must be the end
	// of the pieces already in it.
	Staged *os.File
	// ExistingPieceSizes are the sizes of the pieces already in Staged, in order, from which
	// filecoin-ffi computes the zero padding that aligns the new piece.
	ExistingPieceSizes []abi.UnpaddedPieceSize
}

// AddPieceOutput is the piece as the proofs see it, and what was written for it.
type AddPieceOutput struct {
	Piece processor.PieceInfo
	// LeftAlignment is the zero padding written before the piece, Written everything written
	// (both unpadded).
	LeftAlignment abi.UnpaddedPieceSize
	Written       abi.UnpaddedPieceSize
}

// AddPiece runs WriteWithAlignment: it fr32-pads the piece into the staged file and returns its
// commitment.
func AddPiece(ctx context.Context, in AddPieceInput) (AddPieceOutput, error) {
	var none AddPieceOutput
	if err := ctx.Err(); err != nil {
		return none, err
	}
	if err := in.PieceSize.Validate(); err != nil {
		return none, fmt.Errorf("piece size %d: %w", in.PieceSize, err)
	}
	if in.Staged == nil {
		return none, fmt.Errorf("no staged file to add the piece to")
	}
	piece, release, err := fileOf(in.Piece)
	if err != nil {
		return none, err
	}
	left, total, pieceCID, err := filffi.WriteWithAlignment(abi.RegisteredSealProof(in.RegisteredProof),
		piece, in.PieceSize, in.Staged, in.ExistingPieceSizes)
	if readErr := release(); err != nil && readErr != nil {
		return none, fmt.Errorf("read piece data: %w", readErr)
	}
	if err != nil {
		return none, fmt.Errorf("filecoin-ffi WriteWithAlignment into %s: %w", in.Staged.Name(), err)
	}
	comm, err := commcid.CIDToPieceCommitmentV1(pieceCID)
	if err != nil {
		return none, fmt.Errorf("filecoin-ffi returned a piece CID %s that is not a CommP: %w", pieceCID, err)
	}
	out := AddPieceOutput{LeftAlignment: left, Written: total}
	copy(out.Piece.Commitment[:], comm)
	out.Piece.Size = in.PieceSize
	return out, nil
}
