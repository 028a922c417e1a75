package piece

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	commp "github.com/filecoin-project/go-commp-utils/v2"
	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	commphh "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/piece/fr32"
	"github.com/ipfs-force-community/venus-cluster-go/piece/merkle"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// hashhashCommP is the reference: go-fil-commp-hashhash over the payload, padded up to the
// piece size with zero subtrees.
func hashhashCommP(t *testing.T, payload []byte, pieceSize abi.PaddedPieceSize) Commitment {
	t.Helper()
	var calc commphh.Calc
	if _, err := calc.Write(payload); err != nil {
		t.Fatal(err)
	}
	raw, size, err := calc.Digest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err = commphh.PadCommP(raw, size, uint64(pieceSize))
	if err != nil {
		t.Fatal(err)
	}
	return Commitment(raw)
}

// naiveRoot is the merkle root of padded data, built layer by layer in memory.
func naiveRoot(data []byte) Commitment {
	layer := bytes.Clone(data)
	for len(layer) > 32 {
		next := make([]byte, len(layer)/2)
		merkle.HashLayer(next, layer)
		layer = next
	}
	return Commitment(layer)
}

func TestZeroCommitmentsMatchZerocomm(t *testing.T) {
	for size := abi.PaddedPieceSize(128); size <= 64*gib; size *= 2 {
		want, err := commcid.CIDToPieceCommitmentV1(zerocomm.ZeroPieceCommitment(size.Unpadded()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ZeroCommitment(size)
		if err != nil || !bytes.Equal(got[:], want) {
			t.Fatalf("ZeroCommitment(%d) = %x, %v; want %x", size, got, err, want)
		}
		// The streaming path gets there too, without allocating the piece: zero chunks are
		// never hashed and io.Discard takes their bytes for free.
		if size >= 2*kib {
			comm, c, err := CommP(context.Background(), strings.NewReader(""), 0, size)
			if err != nil || comm != got || c != zerocomm.ZeroPieceCommitment(size.Unpadded()) {
				t.Fatalf("CommP of an empty %d-byte piece = %x %s %v; want %x", size, comm, c, err, want)
			}
		}
	}
}

func TestZeroCommitmentRejectsBadSizes(t *testing.T) {
	for _, size := range []abi.PaddedPieceSize{0, 64, 127, 3000, MaxSize * 2} {
		if _, err := ZeroCommitment(size); err == nil {
			t.Fatalf("ZeroCommitment(%d) accepted", size)
		}
	}
}

func TestCommPMatchesHashhash(t *testing.T) {
	cases := []struct {
		payload int
		piece   abi.PaddedPieceSize
	}{
		{65, 128},                      // the smallest payload hashhash accepts
		{127, 128},                     // exactly one chunk
		{1500, 2 * kib},                // part of a 2KiB piece
		{2032, 2 * kib},                // a full 2KiB piece
		{1000, 8 * kib},                // a piece larger than its payload needs
		{600 * kib, 1 * mib},           // one pipeline chunk, partly zero
		{5*mib + 77, 8 * mib},          // several chunks, the payload ending inside one
		{8 * mib / 128 * 127, 8 * mib}, // every chunk full
		{3 * mib, 1 * gib},             // mostly zero chunks
	}
	for _, c := range cases {
		payload := randomBytes(t, c.payload)
		want := hashhashCommP(t, payload, c.piece)
		// A reader that returns short reads, as a network body does.
		got, gotCID, err := CommP(context.Background(), iotest.HalfReader(bytes.NewReader(payload)), uint64(c.payload), c.piece)
		if err != nil {
			t.Fatalf("payload %d, piece %d: %v", c.payload, c.piece, err)
		}
		if got != want {
			t.Fatalf("payload %d, piece %d: CommP %x, hashhash %x", c.payload, c.piece, got, want)
		}
		if wantCID, _ := commcid.PieceCommitmentV1ToCID(want[:]); gotCID != wantCID {
			t.Fatalf("payload %d, piece %d: CID %s, want %s", c.payload, c.piece, gotCID, wantCID)
		}
	}
}

func TestWritePaddedWritesThePaddedPiece(t *testing.T) {
	for _, c := range []struct {
		payload int
		piece   abi.PaddedPieceSize
	}{{1500, 2 * kib}, {3*mib + 5, 4 * mib}, {0, 2 * mib}} {
		payload := randomBytes(t, c.payload)
		// The payload is followed by bytes that must not be read.
		src := io.MultiReader(bytes.NewReader(payload), strings.NewReader("NOT PART OF THE PIECE"))
		var staged bytes.Buffer
		staged.WriteString("earlier piece")
		comm, err := WritePadded(context.Background(), &staged, src, uint64(c.payload), c.piece)
		if err != nil {
			t.Fatal(err)
		}

		unpadded := make([]byte, c.piece.Unpadded())
		copy(unpadded, payload)
		want := make([]byte, c.piece)
		fr32.Pad(want, unpadded)
		got := strings.TrimPrefix(staged.String(), "earlier piece")
		if got != string(want) {
			t.Fatalf("payload %d: wrote %d bytes that are not the padded piece (%d bytes)", c.payload, len(got), len(want))
		}
		if root := naiveRoot(want); comm != root {
			t.Fatalf("payload %d: commitment %x, merkle root of the written bytes %x", c.payload, comm, root)
		}
	}
}

func TestWritePaddedRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := WritePadded(ctx, io.Discard, strings.NewReader(""), 0, 1000)
	if err == nil || !strings.Contains(err.Error(), "invalid padded piece size 1000") {
		t.Fatalf("bad piece size: %v", err)
	}
	_, err = WritePadded(ctx, io.Discard, bytes.NewReader(make([]byte, 2048)), 2048, 2048)
	if err == nil || !strings.Contains(err.Error(), "payload of 2048 bytes does not fit a piece of 2048 padded bytes (at most 2032") {
		t.Fatalf("payload too large: %v", err)
	}
	_, err = WritePadded(ctx, io.Discard, bytes.NewReader(make([]byte, 1000)), 1500, 2048)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "ended after 1000 of its 1500 bytes") {
		t.Fatalf("short payload: %v", err)
	}
	boom := errors.New("connection reset")
	_, err = WritePadded(ctx, io.Discard, iotest.ErrReader(boom), 1500, 2048)
	if !errors.Is(err, boom) {
		t.Fatalf("read error: %v", err)
	}
	full := errors.New("no space left on device")
	_, err = WritePadded(ctx, failingWriter{full}, bytes.NewReader(make([]byte, 1500)), 1500, 2048)
	if !errors.Is(err, full) {
		t.Fatalf("write error: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = WritePadded(cancelled, io.Discard, bytes.NewReader(make([]byte, 1500)), 1500, 2048)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestSizeFor(t *testing.T) {
	for _, c := range []struct {
		payload uint64
		want    abi.PaddedPieceSize
	}{{0, 128}, {1, 128}, {127, 128}, {128, 256}, {2032, 2048}, {2033, 4096}, {1 << 30, 2 << 30}} {
		if got := SizeFor(c.payload); got != c.want {
			t.Fatalf("SizeFor(%d) = %d, want %d", c.payload, got, c.want)
		}
	}
}

func TestAlignmentPadding(t *testing.T) {
	for _, c := range []struct{ offset, size, want abi.PaddedPieceSize }{
		{0, 512, 0}, {256, 512, 256}, {512, 512, 0}, {768, 256, 0}, {640, 256, 128}, {128, 1024, 896},
	} {
		if got := AlignmentPadding(c.offset, c.size); got != c.want {
			t.Fatalf("AlignmentPadding(%d, %d) = %d, want %d", c.offset, c.size, got, c.want)
		}
	}
}

// stagePieces lays pieces as a staged file does, with alignment zeros, and returns the sector's
// bytes and the pieces.
func stagePieces(t *testing.T, sectorSize abi.SectorSize, sizes []abi.PaddedPieceSize) ([]byte, []Piece) {
	t.Helper()
	var staged bytes.Buffer
	var pieces []Piece
	for _, size := range sizes {
		staged.Write(make([]byte, AlignmentPadding(abi.PaddedPieceSize(staged.Len()), size)))
		payload := randomBytes(t, int(size.Unpadded())-10)
		comm, err := WritePadded(context.Background(), &staged, bytes.NewReader(payload), uint64(len(payload)), size)
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, Piece{Commitment: comm, Size: size})
	}
	staged.Write(make([]byte, int(sectorSize)-staged.Len()))
	return staged.Bytes(), pieces
}

func TestUnsealedCommitmentIsTheRootOfTheStagedSector(t *testing.T) {
	cases := [][]abi.PaddedPieceSize{
		{2 * kib},                // one piece filling the sector
		{512, 512, 1 * kib},      // pieces that fill it exactly
		{256, 512, 128},          // a piece that needs alignment padding, then zeros
		{128, 1 * kib},           // 896 bytes of alignment padding
		{1 * kib, 128, 128, 256}, // decreasing then increasing sizes
	}
	for _, sizes := range cases {
		staged, pieces := stagePieces(t, 2*kib, sizes)
		got, err := UnsealedCommitment(2*kib, pieces)
		if err != nil {
			t.Fatalf("%v: %v", sizes, err)
		}
		if want := naiveRoot(staged); got != want {
			t.Fatalf("%v: CommD %x, root of the staged sector %x", sizes, got, want)
		}
	}
}

func TestUnsealedCIDMatchesGoCommpUtils(t *testing.T) {
	// go-commp-utils aggregates pieces only up to their own size, so the reference is given the
	// pieces and the zero pieces that fill the sector after them.
	sizes := []abi.PaddedPieceSize{512 * kib, 128 * kib, 1 * mib, 256 * kib}
	var infos []abi.PieceInfo
	for _, size := range sizes {
		payload := randomBytes(t, int(size.Unpadded())/2)
		_, c, err := CommP(context.Background(), bytes.NewReader(payload), uint64(len(payload)), size)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, abi.PieceInfo{Size: size, PieceCID: c})
	}
	const sectorSize = 8 * mib
	got, err := UnsealedCID(sectorSize, infos)
	if err != nil {
		t.Fatal(err)
	}
	// Laid out: 512K at 0, 128K at 512K, 1M at 1M (384K of alignment zeros), 256K at 2M.
	filled := append([]abi.PieceInfo{}, infos...)
	for _, size := range []abi.PaddedPieceSize{256 * kib, 1 * mib, 4 * mib} {
		filled = append(filled, abi.PieceInfo{Size: size, PieceCID: zerocomm.ZeroPieceCommitment(size.Unpadded())})
	}
	want, size, err := commp.PieceAggregateCommP(abi.RegisteredSealProof_StackedDrg8MiBV1_1, filled)
	if err != nil || size != sectorSize {
		t.Fatalf("reference: %v (size %d)", err, size)
	}
	if got != want {
		t.Fatalf("unsealed CID %s, go-commp-utils %s", got, want)
	}

	empty, err := UnsealedCID(sectorSize, nil)
	if err != nil || empty != zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(sectorSize).Unpadded()) {
		t.Fatalf("an empty sector: %s %v", empty, err)
	}
}

func TestUnsealedCommitmentRejectsBadPieces(t *testing.T) {
	tooMany := []Piece{{Size: 1 * kib}, {Size: 128}, {Size: 1 * kib}}
	if _, err := UnsealedCommitment(2*kib, tooMany); err == nil || !strings.Contains(err.Error(), "piece 2 (1024 padded bytes) would end at byte 3072") {
		t.Fatalf("overflowing pieces: %v", err)
	}
	if _, err := UnsealedCommitment(2*kib, []Piece{{Size: 1000}}); err == nil || !strings.Contains(err.Error(), "piece 0: invalid padded piece size 1000") {
		t.Fatalf("bad piece size: %v", err)
	}
	if _, err := UnsealedCommitment(3000, nil); err == nil || !strings.Contains(err.Error(), "sector size 3000") {
		t.Fatalf("bad sector size: %v", err)
	}
	notPiece, _ := commcid.ReplicaCommitmentV1ToCID(make([]byte, 32))
	if _, err := UnsealedCID(2*kib, []abi.PieceInfo{{Size: 2 * kib, PieceCID: notPiece}}); err == nil || !strings.Contains(err.Error(), "is not a piece CID") {
		t.Fatalf("a sealed CID as piece CID: %v", err)
	}
}
