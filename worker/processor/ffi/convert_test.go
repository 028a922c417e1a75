package ffi

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

func fill(b byte) (out [32]byte) {
	for i := range out {
		out[i] = b
	}
	out[31] &= 0x3f // a field element, as every commitment is
	return out
}

func TestAbiPiecesGivesPieceCIDsAndPaddedSizes(t *testing.T) {
	zero := zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(2048).Unpadded())
	raw, err := commcid.CIDToPieceCommitmentV1(zero)
	if err != nil {
		t.Fatal(err)
	}
	var pi processor.PieceInfo
	copy(pi.Commitment[:], raw)
	pi.Size = 2032

	got, err := abiPieces([]processor.PieceInfo{pi})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Size != 2048 || !got[0].PieceCID.Equals(zero) {
		t.Fatalf("abiPieces = %+v, want the 2KiB zero piece %s of padded size 2048", got, zero)
	}
}

func TestAbiPiecesRejectsBadInput(t *testing.T) {
	if _, err := abiPieces(nil); err == nil || !strings.Contains(err.Error(), "piece_infos is empty") {
		t.Fatalf("no pieces: err = %v", err)
	}
	bad := []processor.PieceInfo{{Size: 2032}, {Size: 2000}}
	if _, err := abiPieces(bad); err == nil || !strings.Contains(err.Error(), "piece_infos[1] size 2000") {
		t.Fatalf("bad size: err = %v, want it to name piece_infos[1]", err)
	}
}

func TestCommitmentsRoundTripThroughCIDs(t *testing.T) {
	commR, commD := fill(1), fill(2)
	sealed, err := sealedCID("comm_r", commR)
	if err != nil {
		t.Fatal(err)
	}
	unsealed, err := unsealedCID("comm_d", commD)
	if err != nil {
		t.Fatal(err)
	}
	gotR, gotD, err := commitments(sealed, unsealed)
	if err != nil {
		t.Fatal(err)
	}
	if gotR != commR || gotD != commD {
		t.Fatalf("round trip gave %x, %x; want %x, %x", gotR, gotD, commR, commD)
	}
	// The kinds are checked: a CommD where a CommR belongs is refused.
	if _, _, err := commitments(unsealed, sealed); err == nil {
		t.Fatal("commitments accepted swapped sealed and unsealed CIDs")
	}
}

func TestUpdateCIDsUseTheSealedAndUnsealedCodecs(t *testing.T) {
	r1, r2, d3 := fill(1), fill(2), fill(3)
	old, updated, data, err := updateCIDs(r1, r2, d3)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := commcid.CIDToReplicaCommitmentV1(old); err != nil || !bytes.Equal(raw, r1[:]) {
		t.Fatalf("comm_r_old CID %s: %x, %v", old, raw, err)
	}
	if raw, err := commcid.CIDToReplicaCommitmentV1(updated); err != nil || !bytes.Equal(raw, r2[:]) {
		t.Fatalf("comm_r_new CID %s: %x, %v", updated, raw, err)
	}
	if raw, err := commcid.CIDToDataCommitmentV1(data); err != nil || !bytes.Equal(raw, d3[:]) {
		t.Fatalf("CommD CID %s: %x, %v", data, raw, err)
	}
}

func TestRealOutputRefusesWhatFilecoinFFIDidNotMake(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", "  ", "pc1out is empty"},
		{"not JSON", "\x00\x01", "not a JSON object"},
		{"JSON but not an object", `[1,2]`, "not a JSON object"},
		{"mock", `{"mock": true, "registered_proof": "StackedDrg2KiBV1_1"}`, "built-in mock processor"},
	} {
		err := realOutput("pc1out", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	if err := realOutput("pc1out", []byte(`{"registered_proof":"StackedDrg2KiBV1_1","labels":{}}`)); err != nil {
		t.Errorf("a filecoin-ffi document was refused: %v", err)
	}
}

func TestPC1ProofIsTheOneRecordedInPC1Out(t *testing.T) {
	got, err := pc1Proof([]byte(`{"registered_proof":"StackedDrg32GiBV1_1","labels":{"labels":[]},"comm_d":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	if abi.RegisteredSealProof(got) != abi.RegisteredSealProof_StackedDrg32GiBV1_1 {
		t.Fatalf("pc1Proof = %s, want StackedDrg32GiBV1_1", got)
	}
	if _, err := pc1Proof([]byte(`{"labels":{}}`)); err == nil || !strings.Contains(err.Error(), `no "registered_proof"`) {
		t.Fatalf("missing registered_proof: err = %v", err)
	}
	if _, err := pc1Proof([]byte(`{"registered_proof":"StackedDrg32GiBV1_1_Feat_SyntheticPoRep"}`)); err == nil ||
		!strings.Contains(err.Error(), "StackedDrg32GiBV1_1_Feat_SyntheticPoRep") {
		t.Fatalf("unknown proof: err = %v, want it named", err)
	}
}

func TestJSONOutputKeepsFilecoinFFIBytes(t *testing.T) {
	in := []byte(`{"registered_proof":"StackedDrg2KiBV1_1"}`)
	got, err := jsonOutput("pc1out", in)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("jsonOutput = %s, %v; want the bytes unchanged", got, err)
	}
	if _, err := jsonOutput("c1out", []byte("{")); err == nil || !strings.Contains(err.Error(), "c1out that is not JSON") {
		t.Fatalf("broken JSON: err = %v", err)
	}
}

func TestCommRLastIsTheSecondHalfOfPAux(t *testing.T) {
	dir := t.TempDir()
	commC, commRLast := fill(7), fill(9)
	if err := os.WriteFile(filepath.Join(dir, "p_aux"), append(commC[:], commRLast[:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := commRLastFromPAux(dir)
	if err != nil || got != commRLast {
		t.Fatalf("commRLastFromPAux = %x, %v; want %x", got, err, commRLast)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_aux"), commC[:], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := commRLastFromPAux(dir); err == nil || !strings.Contains(err.Error(), "is 32 bytes, want 64") {
		t.Fatalf("short p_aux: err = %v", err)
	}
	if _, err := commRLastFromPAux(t.TempDir()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing p_aux: err = %v", err)
	}
}

func TestFileOfPassesFilesThrough(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "piece")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, release, err := fileOf(f)
	if err != nil || got != f {
		t.Fatalf("fileOf(file) = %v, %v; want the file itself", got, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

func TestFileOfStreamsReadersThroughAPipe(t *testing.T) {
	data := bytes.Repeat([]byte("piece data "), 100_000) // larger than a pipe buffer
	f, release, err := fileOf(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes through the pipe, want the %d written", len(got), len(data))
	}
	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
}

// A consumer that stops early (filecoin-ffi reads exactly the piece size) must not hang the copy
// nor be reported as a read failure.
func TestFileOfReleaseAfterAPartialRead(t *testing.T) {
	f, release, err := fileOf(bytes.NewReader(make([]byte, 4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(f, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatalf("release after a partial read: %v", err)
	}
}

type failingReader struct{ n int }

var errSource = errors.New("connection reset by the piece store")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errSource
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestFileOfReportsTheSourceError(t *testing.T) {
	f, release, err := fileOf(&failingReader{n: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f) // the pipe ends early, as filecoin-ffi would see it
	if len(got) != 1000 {
		t.Fatalf("read %d bytes before the failure, want 1000", len(got))
	}
	if err := release(); !errors.Is(err, errSource) {
		t.Fatalf("release = %v, want the source's error", err)
	}
}
