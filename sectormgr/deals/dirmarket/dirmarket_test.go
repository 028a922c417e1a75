package dirmarket

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

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	commphh "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	testMiner = abi.ActorID(10000)
	testSize  = abi.SectorSize(2 << 10)
	testProof = abi.RegisteredSealProof_StackedDrg2KiBV1_1
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

// pieceShape is a piece as a test expects it: a deal id (0: filler) and a padded size.
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

// checkAgainstReference checks every piece against independent references: deals carry their
// payload's piece CID, fillers the zero-piece CID, and the pieces fill the sector.
func checkAgainstReference(t *testing.T, pieces api.Deals, payloadOf map[abi.DealID][]byte) {
	t.Helper()
	var total abi.PaddedPieceSize
	for i, p := range pieces {
		if p.ID == 0 {
			if want := zerocomm.ZeroPieceCommitment(p.Piece.Size.Unpadded()); p.Piece.Cid != want || p.Proposal != nil || p.PayloadSize != uint64(p.Piece.Size.Unpadded()) {
				t.Errorf("filler piece #%d = %+v, want CID %s", i, p, want)
			}
		} else {
			payload := payloadOf[p.ID]
			want, size := refPieceCID(t, payload)
			if p.Piece.Cid != want || p.Piece.Size != size || p.PayloadSize != uint64(len(payload)) {
				t.Errorf("deal piece #%d = %+v, want CID %s size %d payload %d", i, p, want, size, len(payload))
			}
			if p.Proposal == nil || p.Proposal.PieceCID != want || p.Proposal.PieceSize != size ||
				p.Proposal.Provider.String()[1:] != "010000" || p.Proposal.Client.String()[1:] != "01000" || p.Proposal.EndEpoch != 1555200 {
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
	if err := deals.CheckPieces(testSize, pieces); err != nil {
		t.Errorf("CheckPieces: %v", err)
	}
}

// harness is the market behind an Acquirer, as a manager serves AcquireDeals with it.
type harness struct {
	t      *testing.T
	db     statedb.DB
	store  *sectors.Store
	market *Market
	acq    *deals.Acquirer
}

func open(t *testing.T, dir string, db statedb.DB) *harness {
	t.Helper()
	if db == nil {
		db = statedb.InMemory()
	}
	store := sectors.New(db)
	m, err := Open(dir, testMiner, testSize, db, store)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	miners := func() []config.MinerConfig {
		return []config.MinerConfig{{Actor: testMiner, Sector: config.SectorConfig{Enabled: true, EnableDeals: true}}}
	}
	return &harness{t: t, db: db, store: store, market: m, acq: deals.NewAcquirer(m, store, miners)}
}

func (h *harness) allocate() abi.SectorID {
	h.t.Helper()
	num, _, err := h.store.NextNumber(testMiner, 0, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	sid := abi.SectorID{Miner: testMiner, Number: num}
	if err := h.store.Init(sid, testProof); err != nil {
		h.t.Fatal(err)
	}
	return sid
}

func (h *harness) acquire(sid abi.SectorID, spec api.AcquireDealsSpec) api.Deals {
	h.t.Helper()
	got, err := h.acq.AcquireDeals(context.Background(), sid, spec)
	if err != nil {
		h.t.Fatalf("AcquireDeals(%v) = %v", sid, err)
	}
	return got
}

// abort moves the sector offline and gives its deals back, as the manager's ReportAborted does.
func (h *harness) abort(sid abi.SectorID) {
	h.t.Helper()
	if err := h.store.Abort(sid, "pc1 failed"); err != nil {
		h.t.Fatal(err)
	}
	st, err := h.store.Find(api.WorkerOffline, sid)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.acq.ReleaseDeals(context.Background(), sid, st.Pieces); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pieces(sid abi.SectorID) api.Deals {
	h.t.Helper()
	for _, ws := range []api.SectorWorkerState{api.WorkerOnline, api.WorkerOffline} {
		if st, err := h.store.Find(ws, sid); err == nil {
			return st.Pieces
		}
	}
	h.t.Fatalf("sector %v not found", sid)
	return nil
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

func TestAcquireFillsSectors(t *testing.T) {
	// Ids follow file names: a=1 (300 bytes, 512 padded), b=2 (700, 1024), c=3 (1000, 1024), d=4 (100, 128).
	dir, payloads := writePayloads(t, map[string]int{"a": 300, "b": 700, "c": 1000, "d": 100})
	payloadOf := map[abi.DealID][]byte{1: payloads["a"], 2: payloads["b"], 3: payloads["c"], 4: payloads["d"]}
	h := open(t, dir, nil)

	s1 := h.allocate()
	got := h.acquire(s1, api.AcquireDealsSpec{})
	// First fit in id order: a at 0, b aligned at 1024 (a filler between); c no longer fits,
	// d does not fit either (the sector is full).
	want := []pieceShape{{1, 512}, {0, 512}, {2, 1024}}
	if fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 1 pieces = %v, want %v", shapes(got), want)
	}
	checkAgainstReference(t, got, payloadOf)
	if fmt.Sprint(shapes(h.pieces(s1))) != fmt.Sprint(want) {
		t.Fatalf("stored pieces = %v", shapes(h.pieces(s1)))
	}
	// A repeat returns the stored pieces and takes no other deal.
	if again := h.acquire(s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(1))}); jsonOf(t, again) != jsonOf(t, got) {
		t.Fatalf("repeat = %v, want %v", shapes(again), shapes(got))
	}

	s2 := h.allocate()
	got = h.acquire(s2, api.AcquireDealsSpec{})
	// c then d, aligned: 1024 at 0, then 128 at 1024; fillers 128, 256, 512 fill the rest.
	want = []pieceShape{{3, 1024}, {4, 128}, {0, 128}, {0, 256}, {0, 512}}
	if fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 2 pieces = %v, want %v", shapes(got), want)
	}
	checkAgainstReference(t, got, payloadOf)

	// No deal left: null, the sector stays CC.
	s3 := h.allocate()
	if got := h.acquire(s3, api.AcquireDealsSpec{}); got != nil || h.market.HasFree() {
		t.Fatalf("sector 3 pieces = %v, want null", shapes(got))
	}
	if h.pieces(s3) != nil {
		t.Fatalf("sector 3 stored %v", h.pieces(s3))
	}
}

func TestAcquireSpec(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 127, "b": 254, "c": 508})
	h := open(t, dir, nil)

	// More space than the deals can use: nothing is taken.
	s1 := h.allocate()
	if got := h.acquire(s1, api.AcquireDealsSpec{MinUsedSpace: ptr(uint64(1024))}); got != nil {
		t.Fatalf("MinUsedSpace 1024 = %v, want null", shapes(got))
	}
	if got := h.acquire(s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(0))}); got != nil {
		t.Fatalf("MaxDeals 0 = %v, want null", shapes(got))
	}
	got := h.acquire(s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(2)), MinUsedSpace: ptr(uint64(384))})
	if want := []pieceShape{{1, 128}, {0, 128}, {2, 256}, {0, 512}, {0, 1024}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("MaxDeals 2 = %v, want %v", shapes(got), want)
	}
	s2 := h.allocate()
	if got, want := h.acquire(s2, api.AcquireDealsSpec{}), []pieceShape{{3, 512}, {0, 512}, {0, 1024}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 2 = %v, want %v", shapes(got), want)
	}
}

func TestThreeDealsInOneSector(t *testing.T) {
	dir, payloads := writePayloads(t, map[string]int{"a": 127, "b": 254, "c": 508})
	h := open(t, dir, nil)
	got := h.acquire(h.allocate(), api.AcquireDealsSpec{})
	if want := []pieceShape{{1, 128}, {0, 128}, {2, 256}, {3, 512}, {0, 1024}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("pieces = %v, want %v", shapes(got), want)
	}
	checkAgainstReference(t, got, map[abi.DealID][]byte{1: payloads["a"], 2: payloads["b"], 3: payloads["c"]})
}

func TestOtherMinersGetNoDeals(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300})
	h := open(t, dir, nil)
	got, err := h.market.Acquire(context.Background(), abi.SectorID{Miner: 20000, Number: 1}, api.AcquireDealsSpec{}, nil, deals.Sealing)
	if got != nil || err != nil || !h.market.HasFree() {
		t.Fatalf("Acquire for miner 20000 = %v, %v", got, err)
	}
}

// Deals travel over JSON-RPC: the proposal must decode on the worker's side.
func TestDealsRoundTripJSON(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300})
	h := open(t, dir, nil)
	pieces := h.acquire(h.allocate(), api.AcquireDealsSpec{})
	raw := jsonOf(t, pieces)
	var back api.Deals
	if err := json.Unmarshal([]byte(raw), &back); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if again := jsonOf(t, back); again != raw {
		t.Fatalf("round trip changed the deals:\n%s\n%s", raw, again)
	}
	if !strings.Contains(raw, `"Label":"a","StartEpoch":0,"EndEpoch":1555200`) {
		t.Fatalf("proposal of deal 1: %s", raw)
	}
}

func TestReleaseMakesDealsFreeAgain(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 300})
	h := open(t, dir, nil)
	s1 := h.allocate()
	h.acquire(s1, api.AcquireDealsSpec{})
	s2 := h.allocate()
	if got := h.acquire(s2, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("deal 1 handed out twice: %v", shapes(got))
	}
	// Another sector's release does not free deal 1.
	if err := h.market.Release(context.Background(), s2, h.pieces(s1)); err != nil || h.market.HasFree() {
		t.Fatalf("release by a sector that does not hold the deal: %v, free %v", err, h.market.HasFree())
	}
	h.abort(s1)
	s3 := h.allocate()
	if got := h.acquire(s3, api.AcquireDealsSpec{}); len(got) == 0 || got[0].ID != 1 {
		t.Fatalf("after the abort: %v, want deal 1", shapes(got))
	}
	// A finalized sector keeps its deals.
	if err := h.store.Finalize(s3); err != nil {
		t.Fatal(err)
	}
	if got := h.acquire(s2, api.AcquireDealsSpec{}); got != nil {
		t.Fatalf("deal of a finalized sector handed out again: %v", shapes(got))
	}
}

// With a durable database the deal ids and the assignments survive a restart; a file added later
// gets the next id even when its name sorts first, and a changed file of an assigned deal keeps
// the deal's piece CID; an aborted sector's deals are free after the restart.
func TestDealsSurviveARestart(t *testing.T) {
	home := t.TempDir()
	dir, payloads := writePayloads(t, map[string]int{"b": 300, "c": 700, "e": 100})
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	h := open(t, dir, db)
	s1 := h.allocate()
	first := h.acquire(s1, api.AcquireDealsSpec{MaxDeals: ptr(uint(1))})
	s2 := h.allocate()
	if got := h.acquire(s2, api.AcquireDealsSpec{MaxDeals: ptr(uint(1))}); len(got) == 0 || got[0].ID != 2 {
		t.Fatalf("sector 2 = %v, want deal 2", shapes(got))
	}
	if err := h.store.Abort(s2, "pc1 failed"); err != nil { // deal 2 is not released before the restart
		t.Fatal(err)
	}
	db.Close()

	if err := os.WriteFile(filepath.Join(dir, "a"), payloads["b"][:200], 0o644); err != nil {
		t.Fatal(err)
	}
	changed := append([]byte(nil), payloads["b"]...)
	changed[0] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, "b"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "e")); err != nil {
		t.Fatal(err)
	}
	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h = open(t, dir, db)
	if jsonOf(t, h.pieces(s1)) != jsonOf(t, first) {
		t.Fatalf("sector 1 pieces after restart = %v", shapes(h.pieces(s1)))
	}
	s3 := h.allocate()
	got := h.acquire(s3, api.AcquireDealsSpec{})
	// c keeps id 2 (free again: its sector was aborted), a gets id 4; b (deal 1) is taken and e
	// (deal 3) is gone.
	if want := []pieceShape{{2, 1024}, {4, 256}, {0, 256}, {0, 512}}; fmt.Sprint(shapes(got)) != fmt.Sprint(want) {
		t.Fatalf("sector 3 after restart = %v, want %v", shapes(got), want)
	}
	checkAgainstReference(t, got, map[abi.DealID][]byte{2: payloads["c"], 4: payloads["b"][:200]})
	// Deal 1 is still served under its own piece CID, with the file's bytes as they are now.
	rec := httptest.NewRecorder()
	h.market.PieceStoreHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/piecestore/"+first[0].Piece.Cid.String(), nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(changed) {
		t.Fatalf("piece of deal 1: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestPieceStoreHandler(t *testing.T) {
	dir, payloads := writePayloads(t, map[string]int{"a": 300})
	h := open(t, dir, nil)
	srv := httptest.NewServer(h.market.PieceStoreHandler())
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

	// Gone from disk after start: 404 naming the deal, not where the manager keeps its files.
	os.Remove(filepath.Join(dir, "a"))
	resp, err := http.Get(srv.URL + "/piecestore/" + c.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "piece " + c.String() + " not found: the payload file of deal 1 is gone (see the manager's log)\n"; resp.StatusCode != http.StatusNotFound || string(body) != want {
		t.Errorf("removed payload: %d %q", resp.StatusCode, body)
	}
}

func TestPiecesDirErrors(t *testing.T) {
	db := statedb.InMemory()
	store := sectors.New(db)
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := Open(missing, testMiner, testSize, db, store); err == nil ||
		err.Error() != "open "+missing+": no such file or directory (give a directory holding one file per deal payload)" {
		t.Errorf("missing dir: %v", err)
	}
	dir, _ := writePayloads(t, map[string]int{"big": 2033, "ok": 10})
	if _, err := Open(dir, testMiner, testSize, db, store); err == nil ||
		err.Error() != filepath.Join(dir, "big")+" is 2033 bytes, more than a 2KiB sector holds (2032 bytes of data): remove it from the pieces dir or use a larger sector size" {
		t.Errorf("too big: %v", err)
	}

	// Directories and dangling links are skipped; an empty dir has no deals.
	dir = t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "link"))
	h := open(t, dir, nil)
	if got := h.acquire(h.allocate(), api.AcquireDealsSpec{}); got != nil || h.market.HasFree() {
		t.Fatalf("deals from an empty dir: %v", got)
	}
}
