// Package piece holds Filecoin's piece data algorithms, shared by the worker (which pads deal
// data into a sector and commits it) and the manager (which checks what the worker computed):
// the piece commitment CommP of a payload, the fr32-padded write of a piece into a staged
// sector file, and the unsealed CID (CommD) of a sector from its pieces.
//
// Every commitment is the root of a binary merkle tree over the fr32-padded bytes (package
// merkle); fr32 padding is in package fr32.
package piece

import (
	"fmt"
	"math/bits"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/piece/merkle"
)

// Commitment is a raw 32-byte piece or data commitment (CommP, CommD).
type Commitment = [32]byte

// MaxSize is the largest padded piece or sector size handled: far beyond the 64GiB sectors.
const MaxSize = abi.PaddedPieceSize(merkle.NodeSize) << merkle.MaxHeight

// CheckSize tells whether size is a valid padded piece size: a power of two of at least 128
// bytes.
func CheckSize(size abi.PaddedPieceSize) error {
	if err := size.Validate(); err != nil {
		return fmt.Errorf("invalid padded piece size %d: %w (sizes are 128 bytes times a power of two, "+
			"such as 2048 for 2KiB)", size, err)
	}
	if size > MaxSize {
		return fmt.Errorf("padded piece size %d is larger than the supported maximum %d", size, MaxSize)
	}
	return nil
}

// SizeFor is the smallest padded piece size whose data holds payloadSize bytes: what a piece
// made from a file of that size is announced as.
func SizeFor(payloadSize uint64) abi.PaddedPieceSize {
	size := abi.PaddedPieceSize(128)
	for uint64(size.Unpadded()) < payloadSize {
		size *= 2
	}
	return size
}

// height is the height of the tree of a piece of a valid size.
func height(size abi.PaddedPieceSize) int {
	return bits.TrailingZeros64(uint64(size) / merkle.NodeSize)
}

// ZeroCommitment is the commitment of a piece of size padded bytes that holds only zeros (a
// pledge piece, or the CommD of an empty sector). It costs nothing: the zero subtrees are
// precomputed.
func ZeroCommitment(size abi.PaddedPieceSize) (Commitment, error) {
	if err := CheckSize(size); err != nil {
		return Commitment{}, err
	}
	return merkle.ZeroNode(height(size)), nil
}

// CID is the piece CID of a piece commitment (fil-commitment-unsealed, sha2-256-trunc254-padded).
func CID(comm Commitment) cid.Cid {
	c, err := commcid.PieceCommitmentV1ToCID(comm[:])
	if err != nil {
		// Only a commitment of the wrong length fails, and a Commitment has the right one.
		panic(fmt.Sprintf("piece CID of %x: %v", comm, err))
	}
	return c
}

// FromCID is the commitment a piece CID (or an unsealed CID) carries, or an error naming c when
// it is not one.
func FromCID(c cid.Cid) (Commitment, error) {
	var comm Commitment
	raw, err := commcid.CIDToPieceCommitmentV1(c)
	if err != nil {
		return comm, fmt.Errorf("%s is not a piece CID (fil-commitment-unsealed, sha2-256-trunc254-padded): %w", c, err)
	}
	copy(comm[:], raw)
	return comm, nil
}
