package sealing

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// PieceWriter writes one deal's piece, fr32-padded, at the end of a staged file and returns its
// commitment. It is how deal data enters a sector.
type PieceWriter interface {
	WritePiece(ctx context.Context, staged io.Writer, deal api.DealInfo) (processor.PieceInfo, error)
}

// zeroPiece is a pledge piece: its fr32 padding is all zeros and its commitment is known.
func zeroPiece(unpadded abi.UnpaddedPieceSize) (processor.PieceInfo, error) {
	comm, err := piece.ZeroCommitment(unpadded.Padded())
	if err != nil {
		return processor.PieceInfo{}, fmt.Errorf("zero commitment of %d bytes: %w", unpadded, err)
	}
	return processor.PieceInfo{Commitment: comm, Size: unpadded}, nil
}

// writeStaged creates the staged (unsealed) file of a sector from its deals, or as one sparse
// zero piece for a CC sector.
func (j *job) writeStaged(path string, size abi.SectorSize, deals api.Deals) ([]processor.PieceInfo, *Failure) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, perm("open staged file: %w", err)
	}
	defer f.Close()

	if len(deals) == 0 {
		if err := f.Truncate(int64(size)); err != nil {
			return nil, perm("size staged file %s: %w", path, err)
		}
		pi, err := zeroPiece(abi.PaddedPieceSize(size).Unpadded())
		if err != nil {
			return nil, perm("%w", err)
		}
		return []processor.PieceInfo{pi}, syncFile(f)
	}

	pieces := make([]processor.PieceInfo, 0, len(deals))
	var written uint64
	for i, d := range deals {
		// A piece starts at a multiple of its size; zeros fill the gap, as filecoin-proofs does.
		if pad := uint64(piece.AlignmentPadding(abi.PaddedPieceSize(written), d.Piece.Size)); pad > 0 {
			if err := extendWithZeros(f, written+pad); err != nil {
				return nil, perm("align piece #%d (deal %d) in %s: %w", i, d.ID, path, err)
			}
			written += pad
		}
		pi, err := j.writeDeal(f, written, d)
		if err != nil {
			return nil, perm("add piece #%d (deal %d) to %s: %w", i, d.ID, path, err)
		}
		written += uint64(d.Piece.Size)
		pieces = append(pieces, pi)
	}
	return pieces, syncFile(f)
}

func (j *job) writeDeal(f *os.File, offset uint64, d api.DealInfo) (processor.PieceInfo, error) {
	if err := d.Piece.Size.Validate(); err != nil {
		return processor.PieceInfo{}, fmt.Errorf("invalid piece size: %w", err)
	}
	if d.ID != 0 {
		if j.t.env.Pieces == nil {
			return processor.PieceInfo{}, fmt.Errorf("piece store is required")
		}
		return j.t.env.Pieces.WritePiece(j.ctx, f, d)
	}
	// A pledge piece is zeros: extend the file sparsely instead of writing them.
	if err := extendWithZeros(f, offset+uint64(d.Piece.Size)); err != nil {
		return processor.PieceInfo{}, err
	}
	return zeroPiece(d.Piece.Size.Unpadded())
}

// extendWithZeros grows the staged file to size with a hole and moves the write offset there.
func extendWithZeros(f *os.File, size uint64) error {
	if err := f.Truncate(int64(size)); err != nil {
		return err
	}
	_, err := f.Seek(int64(size), io.SeekStart)
	return err
}

func syncFile(f *os.File) *Failure {
	if err := f.Sync(); err != nil {
		return perm("sync %s: %w", f.Name(), err)
	}
	return nil
}
