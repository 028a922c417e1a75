package sealing

import (
	"context"
	"io"
	"math/rand"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// payloadWriter serves deal payloads from memory, padded as the real piece store does.
type payloadWriter map[abi.DealID][]byte

func (p payloadWriter) WritePiece(ctx context.Context, staged io.Writer, d api.DealInfo) (processor.PieceInfo, error) {
	data := p[d.ID]
	comm, err := piece.WritePadded(ctx, staged, bytesReader(data), uint64(len(data)), d.Piece.Size)
	return processor.PieceInfo{Commitment: comm, Size: d.Piece.Size.Unpadded()}, err
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func zeroDeal(size abi.PaddedPieceSize) api.DealInfo {
	comm, _ := piece.ZeroCommitment(size)
	return api.DealInfo{ID: 0, PayloadSize: uint64(size.Unpadded()), Piece: api.PieceInfo{Size: size, Cid: piece.CID(comm)}}
}

// A deal piece that does not start at a multiple of its size is preceded by zeros in the staged
// file, so the sector's CommD is the unsealed commitment of its pieces.
func TestDealPiecesAreAligned(t *testing.T) {
	payload := make([]byte, 400)
	rand.New(rand.NewSource(1)).Read(payload)
	comm, cid, err := piece.CommP(context.Background(), bytesReader(payload), uint64(len(payload)), 512)
	if err != nil {
		t.Fatal(err)
	}
	deal := api.DealInfo{ID: 5, PayloadSize: uint64(len(payload)), Piece: api.PieceInfo{Size: 512, Cid: cid}}

	fm := newFakeManager(1)
	fm.deals = api.Deals{zeroDeal(128), deal, zeroDeal(1024)}
	r := newRig(t, fm)
	r.env.Pieces = payloadWriter{5: payload}
	r.thread.Opts.EnableDeals = true
	r.start()
	r.waitFor("sector with a misaligned deal finalized", func() bool { return fm.finalizedCount() == 1 })

	want, err := piece.UnsealedCommitment(2<<10, []piece.Piece{{Commitment: mustZero(128), Size: 128}, {Commitment: comm, Size: 512}, {Commitment: mustZero(1024), Size: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	fm.mu.Lock()
	info := fm.precommits[sector(1)]
	fm.mu.Unlock()
	if info.CommD != want {
		t.Errorf("pre-committed CommD %x, want the unsealed commitment of the pieces %x", info.CommD, want)
	}
	if len(info.Deals) != 1 || info.Deals[0] != 5 {
		t.Errorf("pre-committed deals %v, want [5]", info.Deals)
	}
}

func mustZero(size abi.PaddedPieceSize) piece.Commitment {
	c, err := piece.ZeroCommitment(size)
	if err != nil {
		panic(err)
	}
	return c
}
