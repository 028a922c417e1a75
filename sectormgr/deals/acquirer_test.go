package deals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// fakeManager hands out a fixed set of pieces and records what it was asked.
type fakeManager struct {
	mu       sync.Mutex
	pieces   api.Deals
	err      error
	acquired []string
	released []string
	// during runs inside Acquire.
	during func()
}

func (f *fakeManager) Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *Lifetime, job Job) (api.Deals, error) {
	if f.during != nil {
		f.during()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acquired = append(f.acquired, fmt.Sprintf("%s %s lifetime=%v", api.FormatSectorID(sid), job, lifetime))
	return f.pieces, f.err
}

func (f *fakeManager) Release(ctx context.Context, sid abi.SectorID, deals api.Deals) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, fmt.Sprintf("%s %v", api.FormatSectorID(sid), dealIDs(deals)))
	return nil
}

var sid = abi.SectorID{Miner: 1000, Number: 5}

func minersWith(cfgs ...config.MinerConfig) func() []config.MinerConfig {
	return func() []config.MinerConfig { return cfgs }
}

func dealsOn(actor abi.ActorID) config.MinerConfig {
	return config.MinerConfig{Actor: actor, Sector: config.SectorConfig{Enabled: true, EnableDeals: true}}
}

func setupAcquirer(t *testing.T, mgr Manager, miners func() []config.MinerConfig) (*Acquirer, *sectors.Store) {
	t.Helper()
	store := sectors.New(statedb.InMemory())
	if err := store.Init(sid, abi.RegisteredSealProof_StackedDrg2KiBV1_1); err != nil {
		t.Fatal(err)
	}
	return NewAcquirer(mgr, store, miners), store
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func storedPieces(t *testing.T, store *sectors.Store) api.Deals {
	t.Helper()
	st, err := store.Online(sid)
	if err != nil {
		t.Fatal(err)
	}
	return st.Pieces
}

func wantUnwrapped11001(t *testing.T, what string, err error) {
	t.Helper()
	coded, ok := err.(*api.CodedError)
	if !ok || coded.Code != 11001 || coded.Message != "error code 11001: sector state not found" {
		t.Fatalf("%s: err = %#v (%v), want the unwrapped 11001 error", what, err, err)
	}
}

func goodPieces() api.Deals { return api.Deals{deal(7, 1024, dataPiece), filler(1024, zero1024)} }

func TestAcquireDealsKeepsValidDealsAndRepeatsThem(t *testing.T) {
	mgr := &fakeManager{pieces: goodPieces()}
	a, store := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if err != nil || jsonOf(t, got) != jsonOf(t, goodPieces()) {
		t.Fatalf("AcquireDeals = %s, %v", jsonOf(t, got), err)
	}
	if jsonOf(t, storedPieces(t, store)) != jsonOf(t, goodPieces()) {
		t.Fatalf("stored %s", jsonOf(t, storedPieces(t, store)))
	}
	// A repeat returns the stored pieces without asking the manager.
	mgr.pieces = api.Deals{deal(8, 1024, dataPiece)}
	again, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if err != nil || jsonOf(t, again) != jsonOf(t, goodPieces()) {
		t.Fatalf("repeat = %s, %v", jsonOf(t, again), err)
	}
	if fmt.Sprint(mgr.acquired) != "[s-t01000-5 sealing lifetime=<nil>]" || mgr.released != nil {
		t.Fatalf("acquired %v, released %v", mgr.acquired, mgr.released)
	}
}

func TestAcquireDealsNeedsTheSectorOnline(t *testing.T) {
	mgr := &fakeManager{pieces: goodPieces()}
	a, _ := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	_, err := a.AcquireDeals(context.Background(), abi.SectorID{Miner: 1000, Number: 6}, api.AcquireDealsSpec{})
	wantUnwrapped11001(t, "unknown sector", err)
	if mgr.acquired != nil {
		t.Fatalf("manager asked: %v", mgr.acquired)
	}
}

func TestAcquireDealsFollowsEnableDeals(t *testing.T) {
	mgr := &fakeManager{pieces: goodPieces()}
	off := dealsOn(1000)
	off.Sector.EnableDeals = false
	a, store := setupAcquirer(t, mgr, minersWith(off))
	if got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{}); got != nil || err != nil {
		t.Fatalf("EnableDeals=false: %s, %v", jsonOf(t, got), err)
	}
	if mgr.acquired != nil || storedPieces(t, store) != nil {
		t.Fatalf("manager asked (%v) or pieces stored", mgr.acquired)
	}

	a, _ = setupAcquirer(t, mgr, minersWith(dealsOn(2000)))
	if _, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{}); err == nil ||
		err.Error() != "config for miner actor 1000 not found: add a [[Miners]] entry with Actor = 1000" {
		t.Fatalf("miner not configured: %v", err)
	}
}

func TestAcquireDealsWithoutDealsIsNull(t *testing.T) {
	a, store := setupAcquirer(t, &fakeManager{pieces: api.Deals{}}, minersWith(dealsOn(1000)))
	got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if got != nil || err != nil || jsonOf(t, got) != "null" {
		t.Fatalf("no deals: %s, %v", jsonOf(t, got), err)
	}
	if storedPieces(t, store) != nil {
		t.Fatal("pieces stored")
	}
}

func TestAcquireDealsReleasesInvalidPieces(t *testing.T) {
	badFiller := api.Deals{deal(7, 1024, dataPiece), filler(1024, zero512)}
	noProposal := goodPieces()
	noProposal[0].Proposal = nil
	cases := []struct {
		name   string
		pieces api.Deals
		want   string
	}{
		{"filler not zero", badFiller, "sector s-t01000-5: the deal manager gave invalid pieces (its deals were given back): got unexpected non-deal piece with seq=#1, size=1024, cid=" + zero512.String()},
		{"no proposal", noProposal, "sector s-t01000-5: the deal manager gave invalid pieces (its deals were given back): got nil proposal for non-zero deal id 7 (piece #0)"},
	}
	for _, c := range cases {
		mgr := &fakeManager{pieces: c.pieces}
		a, store := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
		got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
		if got != nil || err == nil || err.Error() != c.want {
			t.Errorf("%s: AcquireDeals = %s, %v; want %q", c.name, jsonOf(t, got), err, c.want)
		}
		if fmt.Sprint(mgr.released) != "[s-t01000-5 [7]]" {
			t.Errorf("%s: released %v", c.name, mgr.released)
		}
		if storedPieces(t, store) != nil {
			t.Errorf("%s: invalid pieces stored", c.name)
		}
	}
}

func TestAcquireDealsReleasesWhenTheStateCannotBeSaved(t *testing.T) {
	mgr := &fakeManager{pieces: goodPieces()}
	a, store := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	// The sector is aborted while the market picks its deals.
	mgr.during = func() {
		if err := store.Abort(sid, "aborted meanwhile"); err != nil {
			t.Error(err)
		}
	}
	_, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	wantUnwrapped11001(t, "aborted during Acquire", err)
	if fmt.Sprint(mgr.released) != "[s-t01000-5 [7]]" {
		t.Fatalf("released %v", mgr.released)
	}
}

func TestAcquireDealsKeepsTheFirstOfTwoRacingCalls(t *testing.T) {
	mgr := &fakeManager{pieces: api.Deals{deal(8, 1024, dataPiece), filler(1024, zero1024)}}
	a, store := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	// Another call keeps deal 7 while this one is in the market.
	mgr.during = func() {
		err := store.Update(sid, func(st *api.SectorState) error {
			st.Pieces = goodPieces()
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if err != nil || jsonOf(t, got) != jsonOf(t, goodPieces()) {
		t.Fatalf("AcquireDeals = %s, %v; want the pieces kept first", jsonOf(t, got), err)
	}
	if fmt.Sprint(mgr.released) != "[s-t01000-5 [8]]" {
		t.Fatalf("released %v, want this call's deal 8", mgr.released)
	}
}

func TestAcquireDealsPassesManagerErrors(t *testing.T) {
	mgr := &fakeManager{err: errors.New("venus-market http://127.0.0.1:41235/rpc/v1: VENUS_MARKET.AssignUnPackedDeals: deal assigner busy")}
	a, _ := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	_, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if err == nil || err.Error() != "venus-market http://127.0.0.1:41235/rpc/v1: VENUS_MARKET.AssignUnPackedDeals: deal assigner busy" {
		t.Fatalf("AcquireDeals = %v", err)
	}
}

func TestReleaseDealsGoesToTheManager(t *testing.T) {
	mgr := &fakeManager{}
	a, _ := setupAcquirer(t, mgr, minersWith(dealsOn(1000)))
	if err := a.ReleaseDeals(context.Background(), sid, goodPieces()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(mgr.released) != "[s-t01000-5 [7]]" {
		t.Fatalf("released %v", mgr.released)
	}
}

func TestNullHasNoDealsAndWarnsOnce(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	old := log
	log = zap.New(core).Sugar()
	defer func() { log = old }()

	var m Manager = NewNull()
	NewNull()
	if got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); got != nil || err != nil {
		t.Fatalf("Null.Acquire = %v, %v", got, err)
	}
	if err := m.Release(context.Background(), sid, goodPieces()); err != nil {
		t.Fatal(err)
	}
	all := logs.All()
	if len(all) != 1 || all[0].Level != zapcore.WarnLevel || all[0].Message != "deal manager based on market api is disabled, use mocked" {
		t.Fatalf("logs = %+v", all)
	}
}
