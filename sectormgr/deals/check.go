package deals

import (
	"fmt"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
)

// CheckPieces validates the pieces a deal manager gave a sector of size before the sector keeps
// them: every piece has a valid size and together they fit the sector; a filler piece (ID 0) is
// the zero-piece commitment of its size; a deal piece has its proposal, naming the same piece.
// A worker would otherwise seal hours for a pre-commit the chain rejects.
func CheckPieces(size abi.SectorSize, pieces api.Deals) error {
	var total abi.PaddedPieceSize
	for i, p := range pieces {
		if err := piece.CheckSize(p.Piece.Size); err != nil {
			return fmt.Errorf("piece #%d (deal %d): %w", i, p.ID, err)
		}
		total += p.Piece.Size
		if total > abi.PaddedPieceSize(size) {
			return fmt.Errorf("pieces #0-#%d take %d bytes, more than a %s sector holds (%d bytes)",
				i, uint64(total), size.ShortString(), uint64(size))
		}
		if p.ID == 0 {
			expected := zerocomm.ZeroPieceCommitment(p.Piece.Size.Unpadded())
			if !expected.Equals(p.Piece.Cid) {
				return fmt.Errorf("got unexpected non-deal piece with seq=#%d, size=%d, cid=%s", i, p.Piece.Size, p.Piece.Cid)
			}
			continue
		}
		if p.Proposal == nil {
			return fmt.Errorf("got nil proposal for non-zero deal id %d (piece #%d)", p.ID, i)
		}
		if p.Proposal.PieceCID != p.Piece.Cid || p.Proposal.PieceSize != p.Piece.Size {
			return fmt.Errorf("deal %d (piece #%d): its proposal is for piece %s of %d bytes, the piece is %s of %d bytes",
				p.ID, i, p.Proposal.PieceCID, p.Proposal.PieceSize, p.Piece.Cid, p.Piece.Size)
		}
	}
	return nil
}
