package mock

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-commp-utils/v2"
	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	commphh "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// writePayloads writes random payload files into a new pieces dir and returns it with the bytes.
func writePayloads(t *testing.T, sizes map[string]int) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	out := map[string][]byte{}
	for name, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return dir, out
}

// refPieceCID is the piece CID of payload as go-fil-commp-hashhash computes it, independently of
// package piece.
func refPieceCID(t *testing.T, payload []byte) (cid.Cid, abi.PaddedPieceSize) {
	t.Helper()
	var calc commphh.Calc
	calc.Write(payload)
	raw, size, err := calc.Digest()
	if err != nil {
		t.Fatal(err)
	}
	c, err := commcid.PieceCommitmentV1ToCID(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c, abi.PaddedPieceSize(size)
}

// pieceShape is a piece as a test expects it: a deal id (0: pledge) and a padded size.
type pieceShape struct {
	ID   abi.DealID
	Size abi.PaddedPieceSize
}

func shapes(pieces api.Deals) []pieceShape {
	out := make([]pieceShape, len(pieces))
	for i, p := range pieces {
		out[i] = pieceShape{p.ID, p.Piece.Size}
	}
	return out
}

// checkPieces checks every piece against the reference: deals carry their payload's piece CID,
// pledge pieces the zero-piece CID, and the pieces fill the sector.
func checkPieces(t *testing.T, pieces api.Deals, payloadOf map[abi.DealID][]byte) {
	t.Helper()
	var total abi.PaddedPieceSize
	for i, p := range pieces {
		if p.ID == 0 {
			if want := zerocomm.ZeroPieceCommitment(p.Piece.Size.Unpadded()); p.Piece.Cid != want || p.Proposal != nil || p.PayloadSize != uint64(p.Piece.Size.Unpadded()) {
				t.Errorf("pledge piece #%d = %+v, want CID %s", i, p, want)
			}
		} else {
			payload := payloadOf[p.ID]
			want, size := refPieceCID(t, payload)
			if p.Piece.Cid != want || p.Piece.Size != size || p.PayloadSize != uint64(len(payload)) {
				t.Errorf("deal piece #%d = %+v, want CID %s size %d payload %d", i, p, want, size, len(payload))
			}
			if p.Proposal == nil || p.Proposal.PieceCID != want || p.Proposal.PieceSize != size || p.Proposal.Provider.String() != "f010000" {
				t.Errorf("deal piece #%d proposal = %+v", i, p.Proposal)
			}
		}
		if total%p.Piece.Size != 0 {
			t.Errorf("piece #%d (%d bytes) starts at %d, not aligned to its size", i, p.Piece.Size, total)
		}
		total += p.Piece.Size
	}
	if total != abi.PaddedPieceSize(testSize) {
		t.Errorf("pieces fill %d bytes, want the sector's %d", total, testSize)
	}
}

func newDealMock(t *testing.T, dir string, opts ...Option) *Mock {
	t.Helper()
	m, err := New(testMiner, testSize, append(opts, WithPiecesDir(dir))...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func acquire(t *testing.T, m *Mock, sid abi.SectorID, spec api.AcquireDealsSpec) api.Deals {
	t.Helper()
	deals, err := m.AcquireDeals(context.Background(), sid, spec)
	if err != nil {
		t.Fatalf("AcquireDeals(%v) = %v", sid, err)
	}
	return deals
}

func TestAcquireDealsFillsSectors(t *testing.T) {
	// Ids follow file names: a=1 (300 bytes, 512 padded), b=2 (700, 1024), c=3 (1000, 1024), d=4 (100, 128).
	dir, payloads := writePayloads(t, map[string]int{"a": 300, "b": 700, "c": 1000, "d": 100})
	payloadOf := map[abi.DealID][]byte{1: payloads["a"], 2: payloads["b"], 3: payloads["c"], 4: payloads["d"]}
	m := newDealMock(t, dir)

	s1 := allocate(t, m).ID
	got := acquire(t, m, s1, api.AcquireDealsSpec{})
	// First fit in id order: a at 0, b aligned at 1024 (a pledge piece between); c no longer fits,
	// d does not fit either (the sector is full).
	want := []pieceShape{{1, 512}, {0, 512}, {2, 1024}}
	if fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 1 pieces = %v, want %v", shapes(got), want)
	}
	checkPieces(t, got, payloadOf)
	st, _, _ := m.Sector(s1)
	if fmt.Sprint(shapes(st.Pieces)) != fmt.Sprint(want) {
		t.Fatalf("stored pieces = %v", shapes(st.Pieces))
	}
	// A repeat returns the stored pieces and takes no other deal.
	if again := acquire(t, m, s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(1))}); jsonOf(t, again) != jsonOf(t, got) {
		t.Fatalf("repeat = %v, want %v", shapes(again), shapes(got))
	}

	s2 := allocate(t, m).ID
	got = acquire(t, m, s2, api.AcquireDealsSpec{})
	// c then d, aligned: 1024 at 0, then 128 at 1024; pledges 128, 256, 512 fill the rest.
	want = []pieceShape{{3, 1024}, {4, 128}, {0, 128}, {0, 256}, {0, 512}}
	if fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 2 pieces = %v, want %v", shapes(got), want)
	}
	checkPieces(t, got, payloadOf)

	// No deal left: null, the sector stays CC.
	s3 := allocate(t, m).ID
	if got := acquire(t, m, s3, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("sector 3 pieces = %v, want null", shapes(got))
	}
	if st, _, _ := m.Sector(s3); st.Pieces != nil {
		t.Fatalf("sector 3 stored %v", st.Pieces)
	}
}

func ptr[T any](v T) *T { return &v }

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAcquireDealsSpec(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 127, "b": 254, "c": 508})
	m := newDealMock(t, dir)

	// More space than the deals can use: nothing is taken.
	s1 := allocate(t, m).ID
	if got := acquire(t, m, s1, api.AcquireDealsSpec{MinUsedSpace: ptr(uint64(1024))}); got != nil {
		t.Fatalf("MinUsedSpace 1024 = %v, want null", shapes(got))
	}
	if got := acquire(t, m, s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(0))}); got != nil {
		t.Fatalf("MaxDeals 0 = %v, want null", shapes(got))
	}
	got := acquire(t, m, s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(2)), MinUsedSpace: ptr(uint64(384))})
	if want := []pieceShape{{1, 128}, {0, 128}, {2, 256}, {0, 512}, {0, 1024}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("MaxDeals 2 = %v, want %v", shapes(got), want)
	}
	s2 := allocate(t, m).ID
	if want := []pieceShape{{3, 512}, {0, 512}, {0, 1024}}; fmt.Sprint(shapes(acquire(t, m, s2, api.AcquireDealsSpec{}))) != fmt.Sprint(want) {
		t.Fatalf("sector 2 = %v, want %v", shapes(acquire(t, m, s2, api.AcquireDealsSpec{})), want)
	}
}

func TestThreeDealsInOneSector(t *testing.T) {
	dir, payloads := writePayloads(t, map[string]int{"a": 127, "b": 254, "c": 508})
	m := newDealMock(t, dir)
	got := acquire(t, m, allocate(t, m).ID, api.AcquireDealsSpec{})
	if want := []pieceShape{{1, 128}, {0, 128}, {2, 256}, {3, 512}, {0, 1024}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("pieces = %v, want %v", shapes(got), want)
	}
	checkPieces(t, got, map[abi.DealID][]byte{1: payloads["a"], 2: payloads["b"], 3: payloads["c"]})
}

// refCommD is the unsealed CID of pieces as go-commp-utils computes it.
func refCommD(t *testing.T, pieces api.Deals) [32]byte {
	t.Helper()
	infos := make([]abi.PieceInfo, len(pieces))
	for i, p := range pieces {
		infos[i] = abi.PieceInfo{Size: p.Piece.Size, PieceCID: p.Piece.Cid}
	}
	c, size, err := commp.PieceAggregateCommP(testProof, infos)
	if err != nil || size != abi.PaddedPieceSize(testSize) {
		t.Fatalf("aggregate of the pieces: %d bytes, %v", size, err)
	}
	raw, err := commcid.CIDToDataCommitmentV1(c)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(raw)
}

func TestPreCommitOfADealSector(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300, "b": 700})
	m := newDealMock(t, dir)
	ctx := context.Background()
	sector := allocate(t, m)
	pieces := acquire(t, m, sector.ID, api.AcquireDealsSpec{})
	ticket, _ := m.AssignTicket(ctx, sector.ID)
	commD := refCommD(t, pieces)
	info := api.PreCommitOnChainInfo{
		CommR:  mockproof.CommR(testProof, sector.ID, ticket.Ticket, commD),
		CommD:  commD,
		Ticket: ticket,
		Deals:  []abi.DealID{1, 2},
	}

	// The worker's deal list is not what goes on chain: the pre-commit names the deals the sector
	// holds, so a pre-commit is judged by its CommD.
	cc := sealedPreCommit(sector.ID, ticket)
	cc.Deals = info.Deals
	ccD, _ := commcid.DataCommitmentV1ToCID(cc.CommD[:])
	wantD, _ := commcid.DataCommitmentV1ToCID(commD[:])
	resp, err := m.SubmitPreCommit(ctx, sector, cc, false)
	if want := fmt.Sprintf("CommD %s differs from %s, the unsealed CID of its 3 pieces", ccD, wantD); err != nil || resp.Res != api.SubmitRejected || resp.Desc == nil || *resp.Desc != want {
		t.Errorf("CC CommD = %+v, %v; want Rejected %q", resp, err, want)
	}
	noDeals := info
	noDeals.Deals = nil
	if resp, err := m.SubmitPreCommit(ctx, sector, noDeals, false); err != nil || resp.Res != api.SubmitAccepted {
		t.Fatalf("honest pre-commit without its deal list = %+v, %v", resp, err)
	}
	waitLanded(t, m, sector.ID, false)
	st, _, _ := m.Sector(sector.ID)
	if st.Pre.CommD != wantD {
		t.Fatalf("stored pre-commit = %+v", st.Pre)
	}
	pci := m.Chain().PreCommit(testMiner, sector.ID.Number)
	if pci == nil || pci.Info.UnsealedCid == nil || *pci.Info.UnsealedCid != wantD {
		t.Fatalf("pre-commit on chain = %+v, want CommD %s", pci, wantD)
	}

	// A CC sector of the same mock does not get deals by listing them.
	cc2 := allocate(t, m)
	if got := acquire(t, m, cc2.ID, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("second sector got deals %v", shapes(got))
	}
	t2, _ := m.AssignTicket(ctx, cc2.ID)
	listed := sealedPreCommit(cc2.ID, t2)
	listed.Deals = []abi.DealID{1}
	if resp, _ := m.SubmitPreCommit(ctx, cc2, listed, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("CC pre-commit listing a deal = %+v", resp)
	}
	waitLanded(t, m, cc2.ID, false)
	if pci := m.Chain().PreCommit(testMiner, cc2.ID.Number); pci == nil || pci.Info.UnsealedCid != nil {
		t.Fatalf("CC pre-commit on chain = %+v, want no unsealed CID", pci)
	}
}

// Deals travel over JSON-RPC: the proposal must decode on the worker's side.
func TestDealsRoundTripJSON(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300})
	m := newDealMock(t, dir)
	pieces := acquire(t, m, allocate(t, m).ID, api.AcquireDealsSpec{})
	raw, err := json.Marshal(pieces)
	if err != nil {
		t.Fatal(err)
	}
	var back api.Deals
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(raw) {
		t.Fatalf("round trip changed the deals:\n%s\n%s", raw, again)
	}
}

func TestAbortReleasesDeals(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300})
	m := newDealMock(t, dir)
	ctx := context.Background()
	s1 := allocate(t, m).ID
	acquire(t, m, s1, api.AcquireDealsSpec{})
	s2 := allocate(t, m).ID
	if got := acquire(t, m, s2, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("deal 1 handed out twice: %v", shapes(got))
	}
	if err := m.ReportAborted(ctx, s1, "pc1 failed"); err != nil {
		t.Fatal(err)
	}
	s3 := allocate(t, m).ID
	if got := acquire(t, m, s3, api.AcquireDealsSpec{}); len(got) == 0 || got[0].ID != 1 {
		t.Fatalf("after the abort: %v, want deal 1", shapes(got))
	}
	// A finalized sector keeps its deals.
	if err := m.ReportFinalized(ctx, s3); err != nil {
		t.Fatal(err)
	}
	if got := acquire(t, m, s2, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("deal of a finalized sector handed out again: %v", shapes(got))
	}
}

// With a durable database the deal ids and the assignments survive a restart; a file added later
// gets the next id even when its name sorts first, and a changed file of an assigned deal keeps
// the deal's piece CID.
func TestDealsSurviveARestart(t *testing.T) {
	home := t.TempDir()
	dir, payloads := writePayloads(t, map[string]int{"b": 300, "c": 700})
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	m := newDealMock(t, dir, WithDB(db))
	s1 := allocate(t, m).ID
	first := acquire(t, m, s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(1))})
	db.Close()

	if err := os.WriteFile(filepath.Join(dir, "a"), payloads["b"][:200], 0o644); err != nil {
		t.Fatal(err)
	}
	changed := append([]byte(nil), payloads["b"]...)
	changed[0] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, "b"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m = newDealMock(t, dir, WithDB(db))
	if st, _, _ := m.Sector(s1); jsonOf(t, st.Pieces) != jsonOf(t, first) {
		t.Fatalf("sector 1 pieces after restart = %v", shapes(st.Pieces))
	}
	s2 := allocate(t, m).ID
	got := acquire(t, m, s2, api.AcquireDealsSpec{})
	// c keeps id 2, a gets id 3; b (deal 1) is taken.
	if want := []pieceShape{{2, 1024}, {3, 256}, {0, 256}, {0, 512}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 2 after restart = %v, want %v", shapes(got), want)
	}
	checkPieces(t, got, map[abi.DealID][]byte{2: payloads["c"], 3: payloads["b"][:200]})
	// Deal 1 is still served under its own piece CID, with the file's bytes as they are now.
	rec := httptest.NewRecorder()
	m.PieceStoreHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/piecestore/"+first[0].Piece.Cid.String(), nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(changed) {
		t.Fatalf("piece of deal 1: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestPieceStoreHandler(t *testing.T) {
	dir, payloads := writePayloads(t, map[string]int{"a": 300})
	m := newDealMock(t, dir)
	srv := httptest.NewServer(m.PieceStoreHandler())
	defer srv.Close()
	c, _ := refPieceCID(t, payloads["a"])
	unknown, _ := refPieceCID(t, payloads["a"][:200])

	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/piecestore/" + c.String(), http.StatusOK, string(payloads["a"])},
		{http.MethodPost, "/piecestore/" + c.String(), http.StatusMethodNotAllowed, "method POST not allowed: use GET\n"},
		{http.MethodHead, "/piecestore/" + c.String(), http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/piecestore/not-a-cid", http.StatusBadRequest, `invalid piece cid "not-a-cid": `},
		{http.MethodGet, "/piecestore/" + unknown.String(), http.StatusNotFound, "piece " + unknown.String() + " not found: no deal has it\n"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(string(body), tc.body) || (tc.status == http.StatusOK && string(body) != tc.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}

	// Gone from disk after start: 404.
	os.Remove(filepath.Join(dir, "a"))
	resp, err := http.Get(srv.URL + "/piecestore/" + c.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed payload: %d", resp.StatusCode)
	}

	// A mock without deals knows no piece.
	rec := httptest.NewRecorder()
	newMock(t).PieceStoreHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/piecestore/"+c.String(), nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("mock without deals: %d", rec.Code)
	}
}

func TestPiecesDirErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := New(testMiner, testSize, WithPiecesDir(missing)); err == nil ||
		err.Error() != "open "+missing+": no such file or directory (give a directory holding one file per deal payload)" {
		t.Errorf("missing dir: %v", err)
	}
	dir, _ := writePayloads(t, map[string]int{"big": 2033, "ok": 10})
	if _, err := New(testMiner, testSize, WithPiecesDir(dir)); err == nil ||
		err.Error() != filepath.Join(dir, "big")+" is 2033 bytes, more than a 2KiB sector holds (2032 bytes of data): remove it from the pieces dir or use a larger sector size" {
		t.Errorf("too big: %v", err)
	}

	// Directories and dangling links are skipped; an empty dir has no deals.
	dir = t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "link"))
	m := newDealMock(t, dir)
	if got := acquire(t, m, allocate(t, m).ID, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("deals from an empty dir: %v", got)
	}
}
