package piece

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/piece/merkle"
)

// Piece is a piece as a sector holds it: its commitment and padded size.
type Piece struct {
	Commitment Commitment
	Size       abi.PaddedPieceSize
}

// AlignmentPadding is how many padded zero bytes go before a piece of size padded bytes that
// would start at offset, so that it starts at a multiple of its size, as the sector's tree
// requires. UnsealedCommitment counts this padding; a staged file must hold it too.
func AlignmentPadding(offset, size abi.PaddedPieceSize) abi.PaddedPieceSize {
	return (size - offset%size) % size
}

// UnsealedCommitment is the data commitment (CommD) of a sector of sectorSize that holds pieces
// in order: each piece starts at the next multiple of its size (zeros in between), and zeros
// fill the sector after the last one. With no pieces it is the commitment of an empty sector.
// This is what filecoin-ffi's GenerateUnsealedCID computes.
func UnsealedCommitment(sectorSize abi.SectorSize, pieces []Piece) (Commitment, error) {
	total := abi.PaddedPieceSize(sectorSize)
	if err := CheckSize(total); err != nil {
		return Commitment{}, fmt.Errorf("sector size %d: %w", sectorSize, err)
	}
	var (
		stack  subtreeStack
		offset abi.PaddedPieceSize
	)
	for i, p := range pieces {
		if err := CheckSize(p.Size); err != nil {
			return Commitment{}, fmt.Errorf("piece %d: %w", i, err)
		}
		offset += AlignmentPadding(offset, p.Size)
		if offset+p.Size > total {
			return Commitment{}, fmt.Errorf("pieces do not fit a %s sector: piece %d (%d padded bytes) would end at byte %d, "+
				"after alignment padding; a sector holds at most %d padded bytes of pieces", sectorSize.ShortString(), i, p.Size, offset+p.Size, total)
		}
		stack.push(p.Commitment, height(p.Size))
		offset += p.Size
	}
	return stack.root(height(total)), nil
}

// UnsealedCID is UnsealedCommitment for pieces as the chain describes them (padded size and
// piece CID), as an unsealed CID.
func UnsealedCID(sectorSize abi.SectorSize, pieces []abi.PieceInfo) (cid.Cid, error) {
	ps := make([]Piece, len(pieces))
	for i, p := range pieces {
		comm, err := FromCID(p.PieceCID)
		if err != nil {
			return cid.Undef, fmt.Errorf("piece %d: %w", i, err)
		}
		ps[i] = Piece{Commitment: comm, Size: p.Size}
	}
	comm, err := UnsealedCommitment(sectorSize, ps)
	if err != nil {
		return cid.Undef, err
	}
	return CID(comm), nil
}

// subtreeStack combines subtree roots laid left to right into the root above them. Its entries
// have strictly decreasing heights from bottom to top: they are the subtrees of the part of the
// tree laid so far.
type subtreeStack []subtree

type subtree struct {
	node   merkle.Node
	height int
}

// push lays a subtree of the given height after the ones already laid, first laying zero
// subtrees until the position is a multiple of its size.
func (s *subtreeStack) push(node merkle.Node, height int) {
	for len(*s) > 0 && s.top().height < height {
		s.add(merkle.ZeroNode(s.top().height), s.top().height)
	}
	s.add(node, height)
}

// root fills what is left of a tree of the given height with zeros and returns its root.
func (s *subtreeStack) root(height int) merkle.Node {
	if len(*s) == 0 {
		return merkle.ZeroNode(height)
	}
	for len(*s) > 1 || s.top().height < height {
		s.add(merkle.ZeroNode(s.top().height), s.top().height)
	}
	return s.top().node
}

func (s *subtreeStack) top() subtree { return (*s)[len(*s)-1] }

// add lays a subtree and merges equal neighbours into their parent.
func (s *subtreeStack) add(node merkle.Node, height int) {
	*s = append(*s, subtree{node, height})
	for n := len(*s); n > 1 && (*s)[n-2].height == (*s)[n-1].height; n = len(*s) {
		parent := merkle.Parent((*s)[n-2].node, (*s)[n-1].node)
		*s = append((*s)[:n-2], subtree{parent, (*s)[n-2].height + 1})
	}
}
