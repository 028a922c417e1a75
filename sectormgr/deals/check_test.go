package deals

import (
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Zero-piece commitments (go-commp-utils zerocomm) by padded size.
var (
	zero512  = cid.MustParse("baga6ea4seaqfpirydiugkk7up5v666wkm6n6jlw6lby2wxht5mwaqekerdfykjq")
	zero1024 = cid.MustParse("baga6ea4seaqb66wjlfkrbye6uqoemcyxmqylwmrm235uclwfpsyx3ge2imidoly")
	// dataPiece stands for the piece of a deal's payload.
	dataPiece = cid.MustParse("baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy")
)

const kib2 = abi.SectorSize(2 << 10)

func filler(size abi.PaddedPieceSize, c cid.Cid) api.DealInfo {
	return api.DealInfo{ID: 0, PayloadSize: uint64(size.Unpadded()), Piece: api.PieceInfo{Size: size, Cid: c}}
}

func deal(id abi.DealID, size abi.PaddedPieceSize, c cid.Cid) api.DealInfo {
	return api.DealInfo{
		ID:          id,
		PayloadSize: 300,
		Piece:       api.PieceInfo{Size: size, Cid: c},
		Proposal: &market.DealProposal{
			PieceCID: c, PieceSize: size, Label: market.EmptyDealLabel, StartEpoch: 100, EndEpoch: 200,
			StoragePricePerEpoch: big.Zero(), ProviderCollateral: big.Zero(), ClientCollateral: big.Zero(),
		},
	}
}

func TestCheckPieces(t *testing.T) {
	noProposal := deal(7, 1024, dataPiece)
	noProposal.Proposal = nil
	otherProposal := deal(7, 1024, dataPiece)
	otherProposal.Proposal.PieceSize = 512

	cases := []struct {
		name   string
		pieces api.Deals
		want   string
	}{
		{"deal and filler", api.Deals{deal(7, 1024, dataPiece), filler(1024, zero1024)}, ""},
		{"fillers only", api.Deals{filler(1024, zero1024), filler(512, zero512)}, ""},
		{"none", nil, ""},
		{"filler with a data CID", api.Deals{deal(7, 1024, dataPiece), filler(1024, dataPiece)},
			"got unexpected non-deal piece with seq=#1, size=1024, cid=" + dataPiece.String()},
		{"filler with the CID of another size", api.Deals{filler(1024, zero512)},
			"got unexpected non-deal piece with seq=#0, size=1024, cid=" + zero512.String()},
		{"deal without proposal", api.Deals{filler(1024, zero1024), noProposal},
			"got nil proposal for non-zero deal id 7 (piece #1)"},
		{"proposal of another piece", api.Deals{otherProposal},
			"deal 7 (piece #0): its proposal is for piece " + dataPiece.String() + " of 512 bytes, the piece is " + dataPiece.String() + " of 1024 bytes"},
		{"invalid size", api.Deals{filler(1000, zero1024)},
			"piece #0 (deal 0): invalid padded piece size 1000: padded piece size must be a power of 2 (sizes are 128 bytes times a power of two, such as 2048 for 2KiB)"},
		{"zero size", api.Deals{filler(0, zero1024)},
			"piece #0 (deal 0): invalid padded piece size 0: minimum padded piece size is 128 bytes (sizes are 128 bytes times a power of two, such as 2048 for 2KiB)"},
		{"more than the sector", api.Deals{deal(7, 1024, dataPiece), filler(1024, zero1024), filler(512, zero512)},
			"pieces #0-#2 take 2560 bytes, more than a 2KiB sector holds (2048 bytes)"},
	}
	for _, c := range cases {
		err := CheckPieces(kib2, c.pieces)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: CheckPieces = %q, want %q", c.name, got, c.want)
		}
	}
}
