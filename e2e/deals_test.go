package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	commp "github.com/filecoin-project/go-commp-utils/v2"
	commcid "github.com/filecoin-project/go-fil-commcid"
	commphh "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// startMockProc runs `venus-sector-manager mock` on addr with extra mock flags (e.g.
// --pieces-dir), and waits until it answers.
func startMockProc(t *testing.T, addr string, flags ...string) *managerProc {
	t.Helper()
	return startMock(t, addr, nil, flags)
}

func managerClient(t *testing.T, addr string) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), "http://"+addr+api.ManagerRPCPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// writePiecesDir writes one random payload file per size, named p1, p2, … (deal ids follow).
func writePiecesDir(t *testing.T, sizes ...int) (string, [][]byte) {
	t.Helper()
	dir := t.TempDir()
	var payloads [][]byte
	for i, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d", i+1)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	return dir, payloads
}

// refPieceCID is a payload's piece CID as go-fil-commp-hashhash computes it.
func refPieceCID(t *testing.T, payload []byte) cid.Cid {
	t.Helper()
	var calc commphh.Calc
	calc.Write(payload)
	raw, _, err := calc.Digest()
	if err != nil {
		t.Fatal(err)
	}
	c, err := commcid.PieceCommitmentV1ToCID(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refUnsealedCID is the unsealed CID (CommD) of a 2KiB sector holding pieces, as go-commp-utils
// computes it.
func refUnsealedCID(t *testing.T, pieces api.Deals) cid.Cid {
	t.Helper()
	infos := make([]abi.PieceInfo, len(pieces))
	for i, p := range pieces {
		infos[i] = abi.PieceInfo{Size: p.Piece.Size, PieceCID: p.Piece.Cid}
	}
	c, size, err := commp.PieceAggregateCommP(abi.RegisteredSealProof_StackedDrg2KiBV1_1, infos)
	if err != nil || size != 2<<10 {
		t.Fatalf("aggregate of %d pieces: %d bytes, %v", len(pieces), size, err)
	}
	raw, _ := commcid.CIDToPieceCommitmentV1(c)
	d, _ := commcid.DataCommitmentV1ToCID(raw)
	return d
}

// editConfig rewrites the worker's config file.
func editConfig(t *testing.T, w *workerSetup, edit func(cfg string) string) {
	t.Helper()
	b, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.cfg, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func finishedSectors(t *testing.T, c *api.ManagerClient) []*api.SectorState {
	t.Helper()
	list, err := c.ListSectors(context.Background(), api.WorkerOffline, api.SectorWorkerJobAll)
	if err != nil {
		t.Fatalf("ListSectors: %v", err)
	}
	var out []*api.SectorState
	for _, st := range list {
		if st.Finalized && st.AbortReason == "" {
			out = append(out, st)
		}
	}
	return out
}

// TestDealsEndToEnd: `mock --pieces-dir` hands out five deals; a worker with enable_deals fetches
// them from /piecestore/, seals one sector with three deals and one with two to Finished, and
// each pre-committed CommD is the unsealed CID of the sector's pieces.
func TestDealsEndToEnd(t *testing.T) {
	// 127/254/508 bytes are 128/256/512-byte pieces: with max_deals = 3 the first sector takes
	// deals 1-3, the next 4 (300 bytes: 512) and 5 (700 bytes: 1024), the rest are CC.
	dir, payloads := writePiecesDir(t, 127, 254, 508, 300, 700)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMockProc(t, addr, "--pieces-dir", dir, "--max-sectors", "4")
	w := newWorkerSetup(t, addr, 2)
	editConfig(t, w, func(cfg string) string {
		return strings.Replace(cfg, "[sealing]\n", "[sealing]\nenable_deals = true\nmax_deals = 3\n", 1)
	})
	startWorker(t, w)
	c := managerClient(t, addr)

	var done []*api.SectorState
	waitFor(t, "4 sectors finished", 90*time.Second, func() bool {
		done = finishedSectors(t, c)
		return len(done) == 4
	})

	dealsOf := map[abi.DealID]abi.SectorNumber{}
	var counts []int
	for _, st := range done {
		name := api.FormatSectorID(st.ID)
		if st.Pre == nil {
			t.Fatalf("%s has no pre-commit", name)
		}
		var ids []abi.DealID
		for _, p := range st.Pieces {
			if p.ID == 0 {
				continue
			}
			ids = append(ids, p.ID)
			if prev, dup := dealsOf[p.ID]; dup {
				t.Errorf("deal %d sealed into sectors %d and %d", p.ID, prev, st.ID.Number)
			}
			dealsOf[p.ID] = st.ID.Number
			if want := refPieceCID(t, payloads[p.ID-1]); p.Piece.Cid != want {
				t.Errorf("%s: deal %d piece CID %s, want %s (CommP of its payload)", name, p.ID, p.Piece.Cid, want)
			}
		}
		counts = append(counts, len(ids))
		if !slices.Equal(st.Pre.Deals, ids) {
			t.Errorf("%s pre-committed deals %v, its pieces hold %v", name, st.Pre.Deals, ids)
		}
		if len(ids) > 0 {
			if want := refUnsealedCID(t, st.Pieces); st.Pre.CommD != want {
				t.Errorf("%s pre-committed CommD %s, the unsealed CID of its pieces is %s", name, st.Pre.CommD, want)
			}
		}
		if _, err := os.Stat(filepath.Join(w.persist, "sealed", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	sort.Ints(counts)
	if fmt.Sprint(counts) != "[0 0 2 3]" || len(dealsOf) != 5 {
		t.Fatalf("deals per sector %v, %d deals sealed; want [0 0 2 3] and 5", counts, len(dealsOf))
	}

	// The manager's CLI shows the deals of a deal sector.
	num := dealsOf[1]
	out := util(t, addr, "sealer", "sectors", "state", "--offline", "10000", fmt.Sprint(num))
	if out.code != 0 {
		t.Fatalf("sectors state (exit %d):\n%s\n%s", out.code, out.stdout, out.stderr)
	}
	var three *api.SectorState
	for _, st := range done {
		if st.ID.Number == num {
			three = st
		}
	}
	for _, want := range []string{"\nDeals:\n\tID: 1\n", "\tID: 2\n", "\tID: 3\n", "\tCommD: " + three.Pre.CommD.String() + "\n"} {
		if !strings.Contains(out.stdout, want) {
			t.Errorf("sectors state lacks %q:\n%s", want, out.stdout)
		}
	}
}

// TestChangedPieceBytesPauseTheThread: a payload file changed after the manager computed its
// piece CID makes AddPiece fail permanently, naming the deal and both CIDs; the thread pauses
// with the sector kept, and nothing is pre-committed.
func TestChangedPieceBytesPauseTheThread(t *testing.T) {
	dir, payloads := writePiecesDir(t, 300, 700)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMockProc(t, addr, "--pieces-dir", dir)
	changed := append([]byte(nil), payloads[1]...)
	changed[500] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, "p2"), changed, 0o644); err != nil {
		t.Fatal(err)
	}

	w := newWorkerSetup(t, addr, 1)
	editConfig(t, w, func(cfg string) string {
		return strings.Replace(cfg, "[sealing]\n", "[sealing]\nenable_deals = true\n", 1)
	})
	startWorker(t, w)
	admin := adminClient(t, w)
	var th api.WorkerThreadInfo
	waitFor(t, "the thread paused", 60*time.Second, func() bool {
		th = threads(t, admin)[0]
		return th.Paused
	})
	want := fmt.Sprintf("piece data of deal 2 does not match the deal: it commits to %s, the deal's piece CID is %s",
		refPieceCID(t, changed), refPieceCID(t, payloads[1]))
	if th.State != "DealsAcquired" || th.LastError == nil || !strings.HasPrefix(*th.LastError, "permanent: ") ||
		!strings.Contains(*th.LastError, "(deal 2)") || !strings.HasSuffix(*th.LastError, want) {
		t.Fatalf("paused thread = state %s, last error %q; want a permanent error ending %q", th.State, deref(th.LastError), want)
	}
	st, err := managerClient(t, addr).FindSector(context.Background(), api.WorkerOnline, *th.SectorID)
	if err != nil || st.Pre != nil || len(st.Pieces) == 0 {
		t.Fatalf("sector state = %+v, %v; want online with its deals and no pre-commit", st, err)
	}
}

// TestPieceStoreNeedsGlobalEnableDeals: only the global [sealing].enable_deals builds the piece
// store, so a thread that enables deals by itself gets its deals but cannot fetch them: a
// permanent `piece store is required` that pauses it.
func TestPieceStoreNeedsGlobalEnableDeals(t *testing.T) {
	dir, _ := writePiecesDir(t, 300)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMockProc(t, addr, "--pieces-dir", dir)
	w := newWorkerSetup(t, addr, 1)
	editConfig(t, w, func(cfg string) string {
		return strings.Replace(cfg, fmt.Sprintf("location = %q\n", w.stores[0]),
			fmt.Sprintf("location = %q\nsealing.enable_deals = true\n", w.stores[0]), 1)
	})
	startWorker(t, w)
	admin := adminClient(t, w)
	var th api.WorkerThreadInfo
	waitFor(t, "the thread paused", 60*time.Second, func() bool {
		th = threads(t, admin)[0]
		return th.Paused
	})
	want := fmt.Sprintf("permanent: add piece #0 (deal 1) to %s: piece store is required",
		filepath.Join(w.stores[0], "data", "unsealed", api.FormatSectorID(*th.SectorID)))
	if th.State != "DealsAcquired" || th.LastError == nil || *th.LastError != want {
		t.Fatalf("paused thread = state %s, last error %q; want %q", th.State, deref(th.LastError), want)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
