package deals

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/allocator"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// reply is a literal JSON-RPC answer: a result, or an error object.
type reply struct {
	result string
	err    string
}

// fakeMarket is a venus-market endpoint answering literal JSON, recording each call as
// "<method> <params>" and the headers it came with.
type fakeMarket struct {
	mu      sync.Mutex
	replies map[string]reply
	calls   []string
	headers []http.Header
}

func newFakeMarket(t *testing.T, replies map[string]reply) (*fakeMarket, *httptest.Server) {
	f := &fakeMarket{replies: replies}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeMarket) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		ID     json.RawMessage
		Method string
		Params json.RawMessage
	}
	if r.URL.Path != "/rpc/v1" || json.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, req.Method+" "+string(req.Params))
	f.headers = append(f.headers, r.Header.Clone())
	rep, ok := f.replies[req.Method]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case !ok:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method '%s' not found"}}`, req.ID, req.Method)
	case rep.err != "":
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":%s}`, req.ID, rep.err)
	default:
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, rep.result)
	}
}

type sizes map[abi.ActorID]abi.SectorSize

func (s sizes) SectorSize(ctx context.Context, miner abi.ActorID) (abi.SectorSize, error) {
	size, ok := s[miner]
	if !ok {
		return 0, fmt.Errorf("miner actor %d: not on chain", miner)
	}
	return size, nil
}

func dialMarket(t *testing.T, srv *httptest.Server) *MarketClient {
	t.Helper()
	c, err := DialMarket(context.Background(), srv.URL+"/rpc/v1", "market-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// assigned is what venus-market answers AssignUnPackedDeals with: one deal, then a filler piece
// (DealID 0, whose proposal fields are empty).
var assigned = `[
 {"PieceCID":{"/":"` + dataPiece.String() + `"},"PieceSize":1024,"VerifiedDeal":true,"Client":"f01234","Provider":"f01000",
  "Label":"deal-label","StartEpoch":10101,"EndEpoch":20202,"StoragePricePerEpoch":"0","ProviderCollateral":"0","ClientCollateral":"0",
  "Offset":0,"Length":1024,"PayloadSize":1000,"DealID":5432,"TotalStorageFee":"0","FastRetrieval":true,
  "PublishCid":{"/":"bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"}},
 {"PieceCID":{"/":"` + zero1024.String() + `"},"PieceSize":1024,"VerifiedDeal":false,"Client":"<empty>","Provider":"<empty>",
  "Label":"","StartEpoch":0,"EndEpoch":0,"StoragePricePerEpoch":"0","ProviderCollateral":"0","ClientCollateral":"0",
  "Offset":1024,"Length":1024,"PayloadSize":1016,"DealID":0,"TotalStorageFee":"0","FastRetrieval":false,"PublishCid":null}
]`

func snapOn(actor abi.ActorID) config.MinerConfig {
	m := dealsOn(actor)
	m.Sector.EnableDeals = false
	m.SnapUp.Enabled = true
	return m
}

func TestMarketAcquireSendsTheSpecAndMapsTheDeals(t *testing.T) {
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: assigned}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	maxDeals, minUsed := uint(2), uint64(1024)
	got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{MaxDeals: &maxDeals, MinUsedSpace: &minUsed}, nil, Sealing)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"ID":5432,"PayloadSize":1000,"Piece":{"Size":1024,"Cid":{"/":"` + dataPiece.String() + `"}},` +
		`"Proposal":{"PieceCID":{"/":"` + dataPiece.String() + `"},"PieceSize":1024,"VerifiedDeal":true,"Client":"f01234","Provider":"f01000",` +
		`"Label":"deal-label","StartEpoch":10101,"EndEpoch":20202,"StoragePricePerEpoch":"0","ProviderCollateral":"0","ClientCollateral":"0"},"IsCompatible":false},` +
		`{"ID":0,"PayloadSize":1016,"Piece":{"Size":1024,"Cid":{"/":"` + zero1024.String() + `"}},"Proposal":null,"IsCompatible":false}]`
	if jsonOf(t, got) != want {
		t.Fatalf("deals =\n%s\nwant\n%s", jsonOf(t, got), want)
	}
	if err := CheckPieces(kib2, got); err != nil {
		t.Fatalf("the mapped deals do not pass the check: %v", err)
	}
	wantCall := `VENUS_MARKET.AssignUnPackedDeals [{"Miner":1000,"Number":5},2048,` +
		`{"MaxPiece":2,"MaxPieceSize":0,"MinPiece":0,"MinPieceSize":0,"MinUsedSpace":1024,"StartEpoch":0,"EndEpoch":0,"SectorExpiration":null}]`
	if len(f.calls) != 1 || f.calls[0] != wantCall {
		t.Fatalf("calls = %v\nwant %s", f.calls, wantCall)
	}
	h := f.headers[0]
	if h.Get("Authorization") != "Bearer market-token" || h.Get("X-Venus-Api-Namespace") != "v1.IMarket" {
		t.Fatalf("headers = %v", h)
	}
}

func TestMarketAcquireForSnapUpSendsTheLifetime(t *testing.T) {
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: `[]`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(snapOn(1000)))
	got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, &Lifetime{Start: 5000, End: 90000}, SnapUp)
	if err != nil || got != nil {
		t.Fatalf("Acquire = %s, %v; want null", jsonOf(t, got), err)
	}
	wantCall := `VENUS_MARKET.AssignUnPackedDeals [{"Miner":1000,"Number":5},2048,` +
		`{"MaxPiece":0,"MaxPieceSize":0,"MinPiece":0,"MinPieceSize":0,"MinUsedSpace":0,"StartEpoch":5000,"EndEpoch":90000,"SectorExpiration":null}]`
	if fmt.Sprint(f.calls) != "["+wantCall+"]" {
		t.Fatalf("calls = %v", f.calls)
	}
	// The same miner takes no deals for sealing (EnableDeals is off).
	if got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); got != nil || err != nil || len(f.calls) != 1 {
		t.Fatalf("sealing with EnableDeals off = %v, %v, %d calls", got, err, len(f.calls))
	}
}

func TestMarketAcquireAsksNothingWhenDisabledOrMaxDealsZero(t *testing.T) {
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: assigned}})
	off := dealsOn(1000)
	off.Sector.EnableDeals = false
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(off, dealsOn(2000)))
	if got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); got != nil || err != nil {
		t.Fatalf("disabled = %v, %v", got, err)
	}
	if got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, SnapUp); got != nil || err != nil {
		t.Fatalf("snap-up disabled = %v, %v", got, err)
	}
	zero := uint(0)
	if got, err := m.Acquire(context.Background(), abi.SectorID{Miner: 2000, Number: 1}, api.AcquireDealsSpec{MaxDeals: &zero}, nil, Sealing); got != nil || err != nil {
		t.Fatalf("MaxDeals 0 = %v, %v", got, err)
	}
	if _, err := m.Acquire(context.Background(), abi.SectorID{Miner: 3000, Number: 1}, api.AcquireDealsSpec{}, nil, Sealing); err == nil ||
		err.Error() != "config for miner actor 3000 not found: add a [[Miners]] entry with Actor = 3000" {
		t.Fatalf("unknown miner = %v", err)
	}
	if f.calls != nil {
		t.Fatalf("market asked: %v", f.calls)
	}
}

func TestMarketErrorsNameTheEndpointAndMethod(t *testing.T) {
	_, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {err: `{"code":1,"message":"deal assigner busy"}`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	_, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing)
	if want := "venus-market " + srv.URL + "/rpc/v1: VENUS_MARKET.AssignUnPackedDeals: deal assigner busy"; err == nil || err.Error() != want {
		t.Fatalf("Acquire = %v, want %q", err, want)
	}
	// The sector size comes from the chain; its error passes through.
	m = NewMarket(dialMarket(t, srv), sizes{}, minersWith(dealsOn(1000)))
	if _, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); err == nil || err.Error() != "miner actor 1000: not on chain" {
		t.Fatalf("Acquire without a sector size = %v", err)
	}
}

func TestMarketNullAnswerIsNoDeals(t *testing.T) {
	_, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: `null`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	if got, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); got != nil || err != nil {
		t.Fatalf("Acquire = %v, %v", got, err)
	}
	_, srv = newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: `[null]`}})
	m = NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	if _, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); err == nil || err.Error() != "sector s-t01000-5: the market answered null for piece #0" {
		t.Fatalf("Acquire = %v", err)
	}
}

func TestMarketReleaseSendsTheDealIDs(t *testing.T) {
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.ReleaseDeals": {result: `null`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	pieces := api.Deals{deal(5432, 512, dataPiece), filler(512, zero512), deal(5433, 1024, dataPiece)}
	if err := m.Release(context.Background(), sid, pieces); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.calls) != `[VENUS_MARKET.ReleaseDeals ["f01000",[5432,5433]]]` {
		t.Fatalf("calls = %v", f.calls)
	}
	// Filler pieces alone: nothing to release, no call.
	if err := m.Release(context.Background(), sid, api.Deals{filler(512, zero512)}); err != nil || len(f.calls) != 1 {
		t.Fatalf("fillers only: %v, %d calls", err, len(f.calls))
	}
}

func TestMarketReleaseFallsBackToUpdateDealStatus(t *testing.T) {
	// An older market has no ReleaseDeals (method not found).
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.UpdateDealStatus": {result: `null`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	if err := m.Release(context.Background(), sid, api.Deals{deal(5432, 512, dataPiece), deal(5433, 512, dataPiece)}); err != nil {
		t.Fatal(err)
	}
	want := `[VENUS_MARKET.ReleaseDeals ["f01000",[5432,5433]] ` +
		`VENUS_MARKET.UpdateDealStatus ["f01000",5432,"Undefine",29] ` +
		`VENUS_MARKET.UpdateDealStatus ["f01000",5433,"Undefine",29]]`
	if fmt.Sprint(f.calls) != want {
		t.Fatalf("calls = %v\nwant %s", f.calls, want)
	}
}

func TestMarketReleaseErrorPassesThrough(t *testing.T) {
	_, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.ReleaseDeals": {err: `{"code":1,"message":"deal 5432 not found"}`}})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	err := m.Release(context.Background(), sid, api.Deals{deal(5432, 512, dataPiece)})
	if want := "venus-market " + srv.URL + "/rpc/v1: VENUS_MARKET.ReleaseDeals: deal 5432 not found"; err == nil || err.Error() != want {
		t.Fatalf("Release = %v, want %q", err, want)
	}
}

// The Acquirer over the Market: the market's deals are checked and kept, and an invalid answer
// is released back to the market.
func TestAcquirerOverMarket(t *testing.T) {
	bad := `[{"PieceCID":{"/":"` + dataPiece.String() + `"},"PieceSize":1024,"VerifiedDeal":false,"Client":"<empty>","Provider":"<empty>",
  "Label":"","StartEpoch":0,"EndEpoch":0,"StoragePricePerEpoch":"0","ProviderCollateral":"0","ClientCollateral":"0",
  "Offset":0,"Length":1024,"PayloadSize":1016,"DealID":0,"TotalStorageFee":"0","FastRetrieval":false,"PublishCid":null}]`
	f, srv := newFakeMarket(t, map[string]reply{
		"VENUS_MARKET.AssignUnPackedDeals": {result: bad},
		"VENUS_MARKET.ReleaseDeals":        {result: `null`},
	})
	m := NewMarket(dialMarket(t, srv), sizes{1000: kib2}, minersWith(dealsOn(1000)))
	a, store := setupAcquirer(t, m, minersWith(dealsOn(1000)))
	if _, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{}); err == nil ||
		err.Error() != "sector s-t01000-5: the deal manager gave invalid pieces (its deals were given back): got unexpected non-deal piece with seq=#0, size=1024, cid="+dataPiece.String() {
		t.Fatalf("AcquireDeals = %v", err)
	}
	// Only filler pieces came back: there is no deal to release.
	if len(f.calls) != 1 || storedPieces(t, store) != nil {
		t.Fatalf("calls %v", f.calls)
	}

	f.mu.Lock()
	f.replies["VENUS_MARKET.AssignUnPackedDeals"] = reply{result: assigned}
	f.mu.Unlock()
	got, err := a.AcquireDeals(context.Background(), sid, api.AcquireDealsSpec{})
	if err != nil || len(got) != 2 || got[0].ID != 5432 || jsonOf(t, storedPieces(t, store)) != jsonOf(t, got) {
		t.Fatalf("AcquireDeals = %s, %v", jsonOf(t, got), err)
	}
}

// The sector size a market is asked for comes from the chain, through the allocator's miner-info
// cache.
func TestMarketSectorSizeFromTheChain(t *testing.T) {
	c := simchain.New(simchain.Options{})
	t.Cleanup(c.Close)
	if err := c.AddMiner(simchain.MinerSpec{Actor: 1000, SectorSize: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	f, srv := newFakeMarket(t, map[string]reply{"VENUS_MARKET.AssignUnPackedDeals": {result: `[]`}})
	var infos SectorSizes = allocator.NewMinerInfos(c)
	m := NewMarket(dialMarket(t, srv), infos, minersWith(dealsOn(1000)))
	for range 2 {
		if _, err := m.Acquire(context.Background(), sid, api.AcquireDealsSpec{}, nil, Sealing); err != nil {
			t.Fatal(err)
		}
	}
	wantCall := `VENUS_MARKET.AssignUnPackedDeals [{"Miner":1000,"Number":5},8388608,` +
		`{"MaxPiece":0,"MaxPieceSize":0,"MinPiece":0,"MinPieceSize":0,"MinUsedSpace":0,"StartEpoch":0,"EndEpoch":0,"SectorExpiration":null}]`
	if len(f.calls) != 2 || f.calls[0] != wantCall || c.Calls()["Filecoin.StateMinerInfo"] != 1 {
		t.Fatalf("calls = %v, chain calls %v", f.calls, c.Calls())
	}
}
