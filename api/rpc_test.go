package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-bitfield"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// missingSector is the sector number the fake manager does not know.
const missingSector = 404

// fakeManager answers like the mock manager does for sector 10000/1, and records what it received
// so the tests can check that typed client calls carry the values through unchanged.
type fakeManager struct {
	mu        sync.Mutex
	preCommit api.PreCommitOnChainInfo
	report    api.ReportStateReq
}

var _ api.ManagerAPI = (*fakeManager)(nil)

func lookup(sid abi.SectorID) error {
	if sid.Number == missingSector {
		return api.ErrSectorStateNotFound()
	}
	return nil
}

func (f *fakeManager) AllocateSector(context.Context, api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	return &api.AllocatedSector{ID: abi.SectorID{Miner: 10000, Number: 1}, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1}, nil
}

func (f *fakeManager) AcquireDeals(_ context.Context, sid abi.SectorID, _ api.AcquireDealsSpec) (api.Deals, error) {
	return nil, lookup(sid)
}

func (f *fakeManager) AssignTicket(_ context.Context, sid abi.SectorID) (api.Ticket, error) {
	if err := lookup(sid); err != nil {
		return api.Ticket{}, err
	}
	return api.Ticket{Ticket: testTicketBytes(), Epoch: 1234}, nil
}

func (f *fakeManager) SubmitPreCommit(_ context.Context, _ api.AllocatedSector, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error) {
	f.mu.Lock()
	f.preCommit = info
	f.mu.Unlock()
	if hardReset {
		return api.SubmitPreCommitResp{Res: api.SubmitDuplicateSubmit, Desc: ptr("reset")}, nil
	}
	return api.SubmitPreCommitResp{Res: api.SubmitAccepted}, nil
}

func (f *fakeManager) PollPreCommitState(_ context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	return api.PollPreCommitStateResp{State: api.OnChainLanded}, lookup(sid)
}

func (f *fakeManager) SubmitPersisted(_ context.Context, sid abi.SectorID, instance string) (bool, error) {
	return instance == "store1", lookup(sid)
}

func (f *fakeManager) WaitSeed(_ context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	return api.WaitSeedResp{Seed: &api.Seed{Seed: testSeedBytes(), Epoch: 5678}}, lookup(sid)
}

func (f *fakeManager) SubmitProof(_ context.Context, sid abi.SectorID, _ api.ProofOnChainInfo, _ bool) (api.SubmitProofResp, error) {
	return api.SubmitProofResp{Res: api.SubmitAccepted}, lookup(sid)
}

func (f *fakeManager) PollProofState(_ context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	return api.PollProofStateResp{State: api.OnChainPending}, lookup(sid)
}

func (f *fakeManager) ReportState(_ context.Context, sid abi.SectorID, req api.ReportStateReq) error {
	if req.StateChange.Next == "Foo" {
		return api.InvalidParams("invalid state %s", req.StateChange.Next)
	}
	f.mu.Lock()
	f.report = req
	f.mu.Unlock()
	return lookup(sid)
}

func (f *fakeManager) ReportFinalized(_ context.Context, sid abi.SectorID) error { return lookup(sid) }

func (f *fakeManager) ReportAborted(_ context.Context, sid abi.SectorID, _ string) error {
	return lookup(sid)
}

func (f *fakeManager) AllocateSanpUpSector(context.Context, api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error) {
	return nil, nil
}

func (f *fakeManager) SubmitSnapUpProof(_ context.Context, sid abi.SectorID, _ api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error) {
	return api.SubmitSnapUpProofResp{Res: api.SubmitRejected}, lookup(sid)
}

func (f *fakeManager) WorkerPing(context.Context, api.WorkerInfo) error { return nil }

func (f *fakeManager) StoreReserveSpace(_ context.Context, sid abi.SectorID, _ uint64, _ []string) (*api.StoreBasicInfo, error) {
	return &api.StoreBasicInfo{Name: "store1", Path: "/mnt/store1"}, lookup(sid)
}

func (f *fakeManager) Version(context.Context) (string, error) {
	return "fake " + api.MockChainTag, nil
}

func (f *fakeManager) StoreBasicInfo(_ context.Context, name string) (*api.StoreBasicInfo, error) {
	if name != "store1" {
		return nil, nil
	}
	return &api.StoreBasicInfo{Name: "store1", Path: "/mnt/store1", Meta: map[string]string{}}, nil
}

func (f *fakeManager) WorkerGetPingInfo(context.Context, string) (*api.WorkerPingInfo, error) {
	return nil, nil
}

func (f *fakeManager) WorkerPingInfoList(context.Context) ([]api.WorkerPingInfo, error) {
	return []api.WorkerPingInfo{{Info: api.WorkerInfo{Name: "w1", Dest: "127.0.0.1:17890"}, LastPing: 1700000000}}, nil
}

func (f *fakeManager) ListSectors(_ context.Context, ws api.SectorWorkerState, job api.SectorWorkerJob) ([]*api.SectorState, error) {
	if err := ws.Check(); err != nil {
		return nil, err
	}
	return []*api.SectorState{{ID: abi.SectorID{Miner: 10000, Number: abi.SectorNumber(job) + 1}, Finalized: ws == api.WorkerOffline}}, nil
}

func (f *fakeManager) FindSector(_ context.Context, _ api.SectorWorkerState, sid abi.SectorID) (*api.SectorState, error) {
	return &api.SectorState{ID: sid}, lookup(sid)
}

// RestoreSector shows what go-jsonrpc v0.8.0 does with a wrapped coded error: it reads the code
// of the outermost error only, so the wrapped 11001 is sent as code 1.
func (f *fakeManager) RestoreSector(_ context.Context, sid abi.SectorID, forced bool) error {
	if err := lookup(sid); err != nil && forced {
		return fmt.Errorf("restore %s: %w", api.FormatSectorID(sid), err)
	}
	return lookup(sid)
}

func (f *fakeManager) SectorHistory(context.Context, abi.SectorID) ([]api.SectorHistoryEntry, error) {
	return nil, nil
}

func (f *fakeManager) WorkerPingInfoRemove(_ context.Context, name string) error {
	if name != "w1" {
		return fmt.Errorf("worker info not found: %q", name)
	}
	return nil
}

func (f *fakeManager) WorkerResolveDest(_ context.Context, worker string) (string, error) {
	return worker + ":17890", nil
}

func (f *fakeManager) WorkerAdminList(context.Context, string) ([]api.WorkerThreadInfo, error) {
	return nil, nil
}

func (f *fakeManager) WorkerAdminPause(_ context.Context, _ string, index uint64) (bool, error) {
	return index == 0, nil
}

func (f *fakeManager) WorkerAdminResume(_ context.Context, _ string, _ uint64, setTo *string) (bool, error) {
	return setTo != nil, nil
}

func (f *fakeManager) WorkerAdminProgress(_ context.Context, worker string) ([]api.ThreadProgress, error) {
	return []api.ThreadProgress{{Index: 0, State: "PC1Done"}}, nil
}

func (f *fakeManager) WorkerAdminDrain(_ context.Context, worker string, drained bool) (bool, error) {
	return worker == "w1" && drained, nil
}

// testSealedCID is a sealed CID (CommR of 32 bytes of 7).
var testSealedCID = func() cid.Cid {
	c, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return c
}()

func (f *fakeManager) CheckProvable(_ context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error) {
	bad := map[abi.SectorNumber]string{}
	for _, s := range sectors {
		if s.SectorKey != nil || strict {
			bad[s.SectorNumber] = fmt.Sprintf("sector %d of %d: missing", s.SectorNumber, mid)
		}
	}
	return bad, nil
}

func (f *fakeManager) ProvingInfo(_ context.Context, mid abi.ActorID, dlIdx *uint64) (*api.ProvingInfo, error) {
	if dlIdx != nil && *dlIdx >= 48 {
		return nil, fmt.Errorf("deadline index %d is out of range", *dlIdx)
	}
	info := &api.ProvingInfo{Miner: mid, BlockDelaySecs: 30, HeadTimestamp: 1700000000,
		Deadline: dline.Info{CurrentEpoch: 2000, PeriodStart: 1440, Index: 9, Open: 1980, Close: 2040, Challenge: 1960,
			FaultCutoff: 1910, WPoStPeriodDeadlines: 48, WPoStProvingPeriod: 2880, WPoStChallengeWindow: 60, WPoStChallengeLookback: 20, FaultDeclarationCutoff: 70}}
	part := api.ProvingPartition{Partition: api.Partition{AllSectors: bitfield.NewFromSet([]uint64{1, 2}), FaultySectors: bitfield.NewFromSet([]uint64{2}),
		RecoveringSectors: bitfield.New(), LiveSectors: bitfield.NewFromSet([]uint64{1, 2}), ActiveSectors: bitfield.NewFromSet([]uint64{1})}}
	if dlIdx != nil {
		part.Sectors = []proof.ExtendedSectorInfo{{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: 1, SealedCID: testSealedCID}}
	}
	info.Deadlines = []api.ProvingDeadline{{PostSubmissions: bitfield.NewFromSet([]uint64{0}), Partitions: []api.ProvingPartition{part}}}
	return info, nil
}

// bodyRecorder keeps the request bodies a server received, to check what a Go client puts on the wire.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
	next   http.Handler
}

func (r *bodyRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

// lastParams returns the method and the raw params of the last request received.
func (r *bodyRecorder) lastParams(t *testing.T) (string, string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		t.Fatal("no request recorded")
	}
	var req struct {
		Method string
		Params json.RawMessage
	}
	if err := json.Unmarshal(r.bodies[len(r.bodies)-1], &req); err != nil {
		t.Fatal(err)
	}
	return req.Method, string(req.Params)
}

// startManager serves fake under Venus at /rpc/v0 on 127.0.0.1, as the manager daemon does.
func startManager(t *testing.T, fake api.ManagerAPI) (*httptest.Server, *bodyRecorder) {
	t.Helper()
	rpc := jsonrpc.NewServer()
	rpc.Register(api.ManagerNamespace, fake)
	rec := &bodyRecorder{next: rpc}
	mux := http.NewServeMux()
	mux.Handle(api.ManagerRPCPath, rec)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec
}

func newManagerClient(t *testing.T, srv *httptest.Server) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), srv.URL+api.ManagerRPCPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

type rawResponse struct {
	status int
	fields map[string]json.RawMessage
}

// post sends a literal JSON-RPC request, as the Rust worker does (plain HTTP POST).
func post(t *testing.T, url, body string) rawResponse {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{status: resp.StatusCode}
	if err := json.Unmarshal(data, &out.fields); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, data)
	}
	return out
}

func (r rawResponse) expectResult(t *testing.T, want string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Errorf("HTTP status %d, want 200", r.status)
	}
	if _, ok := r.fields["error"]; ok {
		t.Errorf("unexpected error member: %s", r.fields["error"])
	}
	got, ok := r.fields["result"]
	if !ok {
		t.Fatalf("response has no result member: %v", r.fields)
	}
	if string(got) != compactJSON(t, want) {
		t.Errorf("result:\n got %s\nwant %s", got, want)
	}
}

func (r rawResponse) expectError(t *testing.T, status, code int, message string) {
	t.Helper()
	if r.status != status {
		t.Errorf("HTTP status %d, want %d", r.status, status)
	}
	if _, ok := r.fields["result"]; ok {
		t.Errorf("error response also has a result: %s", r.fields["result"])
	}
	var e struct {
		Code    int
		Message string
	}
	if err := json.Unmarshal(r.fields["error"], &e); err != nil {
		t.Fatalf("error member %s: %v", r.fields["error"], err)
	}
	if e.Code != code || !strings.Contains(e.Message, message) {
		t.Errorf("error = %s, want code %d and message containing %q", r.fields["error"], code, message)
	}
}

func TestRPCRawRequestsFromRustWorker(t *testing.T) {
	srv, _ := startManager(t, &fakeManager{})
	url := srv.URL + api.ManagerRPCPath

	t.Run("AllocateSector", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":null,"AllowedProofTypes":null}],"id":1}`)
		r.expectResult(t, `{"ID":{"Miner":10000,"Number":1},"ProofType":5}`)
		if string(r.fields["id"]) != "1" || string(r.fields["jsonrpc"]) != `"2.0"` {
			t.Errorf("id/jsonrpc = %s/%s, want 1/\"2.0\"", r.fields["id"], r.fields["jsonrpc"])
		}
	})
	t.Run("SubmitPreCommit", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.SubmitPreCommit","params":[{"ID":{"Miner":10000,"Number":1},"ProofType":5},`+
			`{"CommR":`+commRJSON+`,"CommD":`+commDJSON+`,"Ticket":{"Ticket":"`+ticketB64+`","Epoch":0},"Deals":[]},false],"id":7}`)
		r.expectResult(t, `{"Res":1,"Desc":null}`)
	})
	t.Run("ReportState", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.ReportState","params":[{"Miner":10000,"Number":1},`+
			`{"Worker":{"Instance":"127.0.0.1","Location":"/abs/mock-tmp/store1"},`+
			`"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null}],"id":8}`)
		r.expectResult(t, `null`)
	})
	t.Run("nil pointer result is null", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.AllocateSanpUpSector","params":[`+
			`{"Sector":{"AllowedMiners":null,"AllowedProofTypes":null},"Deals":{"MaxDeals":null,"MinUsedSpace":null}}],"id":9}`)
		r.expectResult(t, `null`)
	})
	t.Run("StoreBasicInfo with empty Meta", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.StoreBasicInfo","params":["store1"],"id":10}`)
		r.expectResult(t, `{"Name":"store1","Path":"/mnt/store1","Meta":{}}`)
	})
	t.Run("method returning only error gives result null", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.ReportFinalized","params":[{"Miner":10000,"Number":1}],"id":11}`)
		r.expectResult(t, `null`)
	})
	t.Run("sector state not found is code 11001", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.AssignTicket","params":[{"Miner":10000,"Number":404}],"id":12}`)
		r.expectError(t, http.StatusOK, 11001, "")
		if got := compactJSON(t, string(r.fields["error"])); got != `{"code":11001,"message":"error code 11001: sector state not found"}` {
			t.Errorf("error member = %s", got)
		}
	})
	t.Run("invalid params from a handler", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.ReportState","params":[{"Miner":10000,"Number":1},`+
			`{"Worker":{"Instance":"w","Location":"/l"},"StateChange":{"Prev":"Empty","Next":"Foo","Event":"None"},"Failure":null}],"id":13}`)
		r.expectError(t, http.StatusOK, api.ErrCodeInvalidParams, "")
		if got := compactJSON(t, string(r.fields["error"])); got != `{"code":-32602,"message":"invalid state Foo"}` {
			t.Errorf("error member = %s", got)
		}
	})
	t.Run("wrong param count", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[],"id":14}`)
		r.expectError(t, http.StatusInternalServerError, -32602, "wrong param count (method 'Venus.AllocateSector'): 0 != 1")
	})
	t.Run("unknown method", func(t *testing.T) {
		r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.NoSuchMethod","params":[],"id":15}`)
		r.expectError(t, http.StatusInternalServerError, -32601, "")
	})
}

func TestRPCGoClientTypedCalls(t *testing.T) {
	fake := &fakeManager{}
	srv, rec := startManager(t, fake)
	c := newManagerClient(t, srv)
	ctx := context.Background()
	sid := abi.SectorID{Miner: 10000, Number: 1}

	sector, err := c.AllocateSector(ctx, api.AllocateSectorSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (api.AllocatedSector{ID: sid, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1}); sector == nil || *sector != want {
		t.Errorf("AllocateSector = %+v, want %+v", sector, want)
	}
	// Our worker must send what the Rust worker sends.
	if method, params := rec.lastParams(t); method != "Venus.AllocateSector" || params != `[{"AllowedMiners":null,"AllowedProofTypes":null}]` {
		t.Errorf("client sent %s %s", method, params)
	}

	deals, err := c.AcquireDeals(ctx, sid, api.AcquireDealsSpec{MaxDeals: ptr(uint(2))})
	if err != nil || deals != nil {
		t.Errorf("AcquireDeals = %v, %v; want nil, nil", deals, err)
	}
	if _, params := rec.lastParams(t); params != `[{"Miner":10000,"Number":1},{"MaxDeals":2,"MinUsedSpace":null}]` {
		t.Errorf("AcquireDeals params %s", params)
	}

	ticket, err := c.AssignTicket(ctx, sid)
	if err != nil || !bytes.Equal(ticket.Ticket, testTicketBytes()) || ticket.Epoch != 1234 {
		t.Errorf("AssignTicket = %+v, %v", ticket, err)
	}

	info := api.PreCommitOnChainInfo{CommR: testCommR(), CommD: testCommD(), Ticket: ticket, Deals: []abi.DealID{}}
	res, err := c.SubmitPreCommit(ctx, *sector, info, false)
	if err != nil || res.Res != api.SubmitAccepted || res.Desc != nil {
		t.Errorf("SubmitPreCommit = %+v, %v", res, err)
	}
	fake.mu.Lock()
	got := fake.preCommit
	fake.mu.Unlock()
	if !reflect.DeepEqual(got, info) {
		t.Errorf("manager received %+v, want %+v", got, info)
	}
	if _, params := rec.lastParams(t); params != `[{"ID":{"Miner":10000,"Number":1},"ProofType":5},{"CommR":`+commRJSON+
		`,"CommD":`+commDJSON+`,"Ticket":{"Ticket":"`+ticketB64+`","Epoch":1234},"Deals":[]},false]` {
		t.Errorf("SubmitPreCommit params %s", params)
	}
	res, err = c.SubmitPreCommit(ctx, *sector, info, true)
	if err != nil || res.Res != api.SubmitDuplicateSubmit || res.Desc == nil || *res.Desc != "reset" {
		t.Errorf("SubmitPreCommit(hardReset) = %+v, %v", res, err)
	}

	seed, err := c.WaitSeed(ctx, sid)
	if err != nil || seed.ShouldWait || seed.Seed == nil || !bytes.Equal(seed.Seed.Seed, testSeedBytes()) || seed.Seed.Epoch != 5678 {
		t.Errorf("WaitSeed = %+v, %v", seed, err)
	}

	report := api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/abs/mock-tmp/store1"},
		StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated", Event: "None"},
	}
	if err := c.ReportState(ctx, sid, report); err != nil {
		t.Fatal(err)
	}
	if _, params := rec.lastParams(t); params != `[{"Miner":10000,"Number":1},{"Worker":{"Instance":"127.0.0.1","Location":"/abs/mock-tmp/store1"},`+
		`"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null}]` {
		t.Errorf("ReportState params %s", params)
	}

	store, err := c.StoreBasicInfo(ctx, "nope")
	if err != nil || store != nil {
		t.Errorf("StoreBasicInfo(nope) = %+v, %v; want nil, nil", store, err)
	}
	store, err = c.StoreBasicInfo(ctx, "store1")
	if err != nil || store == nil || store.Name != "store1" || store.Meta == nil {
		t.Errorf("StoreBasicInfo(store1) = %+v, %v", store, err)
	}

	pings, err := c.WorkerPingInfoList(ctx)
	if err != nil || len(pings) != 1 || pings[0].Info.Name != "w1" || pings[0].LastPing != 1700000000 {
		t.Errorf("WorkerPingInfoList = %+v, %v", pings, err)
	}
	if err := c.ReportFinalized(ctx, sid); err != nil {
		t.Errorf("ReportFinalized: %v", err)
	}
}

func TestRPCGoClientErrorCodes(t *testing.T) {
	srv, _ := startManager(t, &fakeManager{})
	c := newManagerClient(t, srv)
	ctx := context.Background()

	_, err := c.AssignTicket(ctx, abi.SectorID{Miner: 10000, Number: missingSector})
	if !api.IsSectorStateNotFound(err) {
		t.Errorf("AssignTicket(missing) error %v (%T): want IsSectorStateNotFound", err, err)
	}
	if err == nil || !strings.Contains(err.Error(), "error code 11001: sector state not found") {
		t.Errorf("AssignTicket(missing) error text %v", err)
	}

	err = c.ReportState(ctx, abi.SectorID{Miner: 10000, Number: 1}, api.ReportStateReq{StateChange: api.SectorStateChange{Next: "Foo"}})
	if code, ok := api.ErrorCode(err); !ok || code != api.ErrCodeInvalidParams {
		t.Errorf("ReportState(Foo) error %v: code %d, %v; want -32602", err, code, ok)
	}
	if api.IsSectorStateNotFound(err) {
		t.Errorf("invalid params taken for sector state not found")
	}

	// A transport failure has no JSON-RPC code and must not look like 11001.
	srv.Close()
	_, err = c.AssignTicket(ctx, abi.SectorID{Miner: 10000, Number: 1})
	if err == nil {
		t.Fatal("call to a stopped manager succeeded")
	}
	if _, ok := api.ErrorCode(err); ok || api.IsSectorStateNotFound(err) {
		t.Errorf("transport error %v reported a JSON-RPC code", err)
	}
}

func TestErrorConstructors(t *testing.T) {
	if code, ok := api.ErrorCode(api.ErrSectorStateNotFound()); !ok || code != 11001 {
		t.Errorf("ErrSectorStateNotFound code %d, %v", code, ok)
	}
	if msg := api.ErrSectorStateNotFound().Error(); msg != "error code 11001: sector state not found" {
		t.Errorf("ErrSectorStateNotFound message %q", msg)
	}
	err := api.InvalidParams("worker #%d not found", 9)
	if code, _ := api.ErrorCode(err); code != -32602 || err.Error() != "worker #9 not found" {
		t.Errorf("InvalidParams = %d %q", code, err.Error())
	}
	if _, ok := api.ErrorCode(io.EOF); ok {
		t.Error("plain error reported a JSON-RPC code")
	}
}

// fakeWorker serves the admin API the way a worker with two threads does.
type fakeWorker struct{}

var _ api.WorkerAdminAPI = fakeWorker{}

func (fakeWorker) WorkerList(context.Context) ([]api.WorkerThreadInfo, error) {
	return []api.WorkerThreadInfo{
		{Location: "/abs/store1", Index: 0, State: "Empty"},
		{Location: "/abs/store2", SectorID: &abi.SectorID{Miner: 10000, Number: 3}, Index: 1, Paused: true,
			PausedElapsed: ptr(uint64(42)), State: "PC1Done", LastError: ptr("permanent: pc2 failed")},
	}, nil
}

func (fakeWorker) WorkerPause(_ context.Context, index uint64) (bool, error) {
	if index > 1 {
		return false, api.InvalidParams("worker #%d not found", index)
	}
	return true, nil
}

func (fakeWorker) WorkerResume(_ context.Context, _ uint64, setTo *string) (bool, error) {
	return setTo == nil, nil
}

func (fakeWorker) WorkerProgress(context.Context) ([]api.ThreadProgress, error) { return nil, nil }
func (fakeWorker) WorkerSetEnv(context.Context, string, string) error           { return nil }
func (fakeWorker) WorkerRemoveEnv(context.Context, string) error                { return nil }
func (fakeWorker) WorkerDrain(_ context.Context, drained bool) (bool, error) {
	return drained, nil
}

// The manager reaches a worker at http://<dest>/ with the VenusWorker namespace.
func TestRPCWorkerAdminClient(t *testing.T) {
	rpc := jsonrpc.NewServer()
	rpc.Register(api.WorkerNamespace, fakeWorker{})
	rec := &bodyRecorder{next: rpc}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	c, closer, err := api.NewWorkerAdminClient(context.Background(), strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	ctx := context.Background()

	threads, err := c.WorkerList(ctx)
	if err != nil || len(threads) != 2 || threads[1].SectorID == nil || *threads[1].PausedElapsed != 42 || threads[0].LastError != nil {
		t.Errorf("WorkerList = %+v, %v", threads, err)
	}
	if method, params := rec.lastParams(t); method != "VenusWorker.WorkerList" || params != `[]` {
		t.Errorf("WorkerList sent %s %s", method, params)
	}

	if ok, err := c.WorkerResume(ctx, 1, nil); err != nil || !ok {
		t.Errorf("WorkerResume(1, nil) = %v, %v", ok, err)
	}
	if _, params := rec.lastParams(t); params != `[1,null]` {
		t.Errorf("WorkerResume params %s, want [1,null]", params)
	}
	if _, err := c.WorkerResume(ctx, 1, ptr("PC1Done")); err != nil {
		t.Fatal(err)
	}
	if _, params := rec.lastParams(t); params != `[1,"PC1Done"]` {
		t.Errorf("WorkerResume params %s, want [1,\"PC1Done\"]", params)
	}

	_, err = c.WorkerPause(ctx, 9)
	if code, _ := api.ErrorCode(err); code != api.ErrCodeInvalidParams || !strings.Contains(err.Error(), "worker #9 not found") {
		t.Errorf("WorkerPause(9) error %v, want -32602 worker #9 not found", err)
	}

	if changed, err := c.WorkerDrain(ctx, true); err != nil || !changed {
		t.Errorf("WorkerDrain(true) = %v, %v", changed, err)
	}
	if method, params := rec.lastParams(t); method != "VenusWorker.WorkerDrain" || params != `[true]` {
		t.Errorf("WorkerDrain sent %s %s", method, params)
	}
	post(t, srv.URL+"/", `{"jsonrpc":"2.0","method":"VenusWorker.WorkerDrain","params":[false],"id":1}`).expectResult(t, `false`)

	r := post(t, srv.URL+"/", `{"jsonrpc":"2.0","method":"VenusWorker.WorkerList","params":[],"id":1}`)
	r.expectResult(t, `[{"location":"/abs/store1","sector_id":null,"index":0,"paused":false,"paused_elapsed":null,"state":"Empty","last_error":null},`+
		`{"location":"/abs/store2","sector_id":{"Miner":10000,"Number":3},"index":1,"paused":true,"paused_elapsed":42,"state":"PC1Done","last_error":"permanent: pc2 failed"}]`)
}

// go-jsonrpc v0.8.0 takes the code from the outermost error only: a handler must return the
// 11001 error itself, never wrapped, or the worker sees code 1 and retries instead of aborting.
func TestRPCSectorStateNotFoundMustBeUnwrapped(t *testing.T) {
	srv, _ := startManager(t, &fakeManager{})
	url := srv.URL + api.ManagerRPCPath

	r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.RestoreSector","params":[{"Miner":10000,"Number":404},false],"id":1}`)
	if got := compactJSON(t, string(r.fields["error"])); got != `{"code":11001,"message":"error code 11001: sector state not found"}` {
		t.Errorf("unwrapped: error member = %s", got)
	}
	r = post(t, url, `{"jsonrpc":"2.0","method":"Venus.RestoreSector","params":[{"Miner":10000,"Number":404},true],"id":2}`)
	if got := compactJSON(t, string(r.fields["error"])); got != `{"code":1,"message":"restore s-t010000-404: error code 11001: sector state not found"}` {
		t.Errorf("wrapped: error member = %s (if go-jsonrpc now unwraps, the rule can be relaxed)", got)
	}
}

func TestRPCGoClientCliCalls(t *testing.T) {
	srv, rec := startManager(t, &fakeManager{})
	c := newManagerClient(t, srv)
	ctx := context.Background()

	states, err := c.ListSectors(ctx, api.WorkerOffline, api.SectorWorkerJobSnapUp)
	if err != nil || len(states) != 1 || states[0].ID.Number != 3 || !states[0].Finalized {
		t.Errorf("ListSectors = %+v, %v", states, err)
	}
	if method, params := rec.lastParams(t); method != "Venus.ListSectors" || params != `["offline",2]` {
		t.Errorf("ListSectors sent %s %s", method, params)
	}
	_, err = c.ListSectors(ctx, "nowhere", api.SectorWorkerJobAll)
	if code, _ := api.ErrorCode(err); code != api.ErrCodeInvalidParams || !strings.Contains(err.Error(), `invalid sector store "nowhere"`) {
		t.Errorf("ListSectors(nowhere) = %v", err)
	}

	if _, err := c.FindSector(ctx, api.WorkerOnline, abi.SectorID{Miner: 10000, Number: 2}); err != nil {
		t.Errorf("FindSector: %v", err)
	}
	if _, params := rec.lastParams(t); params != `["online",{"Miner":10000,"Number":2}]` {
		t.Errorf("FindSector params %s", params)
	}
	if err := c.RestoreSector(ctx, abi.SectorID{Miner: 10000, Number: 2}, true); err != nil {
		t.Errorf("RestoreSector: %v", err)
	}
	if _, params := rec.lastParams(t); params != `[{"Miner":10000,"Number":2},true]` {
		t.Errorf("RestoreSector params %s", params)
	}
	if err := c.WorkerPingInfoRemove(ctx, "w2"); err == nil || err.Error() != `worker info not found: "w2"` {
		t.Errorf("WorkerPingInfoRemove(w2) = %v", err)
	}
	if ok, err := c.WorkerAdminResume(ctx, "w1", 1, ptr("PC1Done")); !ok || err != nil {
		t.Errorf("WorkerAdminResume = %v, %v", ok, err)
	}
	if method, params := rec.lastParams(t); method != "Venus.WorkerAdminResume" || params != `["w1",1,"PC1Done"]` {
		t.Errorf("WorkerAdminResume sent %s %s", method, params)
	}
	if _, err := c.WorkerAdminResume(ctx, "w1", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, params := rec.lastParams(t); params != `["w1",1,null]` {
		t.Errorf("WorkerAdminResume(nil) params %s", params)
	}
	if changed, err := c.WorkerAdminDrain(ctx, "w1", true); !changed || err != nil {
		t.Errorf("WorkerAdminDrain = %v, %v", changed, err)
	}
	if method, params := rec.lastParams(t); method != "Venus.WorkerAdminDrain" || params != `["w1",true]` {
		t.Errorf("WorkerAdminDrain sent %s %s", method, params)
	}
	if p, err := c.WorkerAdminProgress(ctx, "w1"); err != nil || len(p) != 1 || p[0].State != "PC1Done" {
		t.Errorf("WorkerAdminProgress = %+v, %v", p, err)
	}
	if method, params := rec.lastParams(t); method != "Venus.WorkerAdminProgress" || params != `["w1"]` {
		t.Errorf("WorkerAdminProgress sent %s %s", method, params)
	}
}

// The proving methods on the wire: CheckProvable keeps the original's params and answers a map
// keyed by sector number; ProvingInfo carries Lotus's Partition and dline.Info field names.
func TestRPCProvingMethods(t *testing.T) {
	srv, rec := startManager(t, &fakeManager{})
	url := srv.URL + api.ManagerRPCPath
	r := post(t, url, `{"jsonrpc":"2.0","method":"Venus.CheckProvable","params":[10000,[`+
		`{"SealProof":5,"SectorNumber":1,"SectorKey":null,"SealedCID":{"/":"`+testSealedCID.String()+`"}},`+
		`{"SealProof":5,"SectorNumber":2,"SectorKey":{"/":"`+testSealedCID.String()+`"},"SealedCID":{"/":"`+testSealedCID.String()+`"}}],false],"id":1}`)
	r.expectResult(t, `{"2":"sector 2 of 10000: missing"}`)

	r = post(t, url, `{"jsonrpc":"2.0","method":"Venus.ProvingInfo","params":[10000,0],"id":2}`)
	r.expectResult(t, `{"Miner":10000,"BlockDelaySecs":30,"HeadTimestamp":1700000000,`+
		`"Deadline":{"CurrentEpoch":2000,"PeriodStart":1440,"Index":9,"Open":1980,"Close":2040,"Challenge":1960,"FaultCutoff":1910,`+
		`"WPoStPeriodDeadlines":48,"WPoStProvingPeriod":2880,"WPoStChallengeWindow":60,"WPoStChallengeLookback":20,"FaultDeclarationCutoff":70},`+
		`"Deadlines":[{"PostSubmissions":[0,1],"Partitions":[{"AllSectors":[1,2],"FaultySectors":[2,1],"RecoveringSectors":[0],`+
		`"LiveSectors":[1,2],"ActiveSectors":[1,1],"Sectors":[{"SealProof":5,"SectorNumber":1,"SectorKey":null,"SealedCID":{"/":"`+testSealedCID.String()+`"}}]}]}]}`)

	c := newManagerClient(t, srv)
	ctx := context.Background()
	info, err := c.ProvingInfo(ctx, 10000, nil)
	if err != nil || info.Deadline.Index != 9 || len(info.Deadlines) != 1 || info.Deadlines[0].Partitions[0].Sectors != nil {
		t.Fatalf("ProvingInfo(nil) = %+v, %v", info, err)
	}
	if method, params := rec.lastParams(t); method != "Venus.ProvingInfo" || params != `[10000,null]` {
		t.Errorf("ProvingInfo sent %s %s", method, params)
	}
	if n, _ := info.Deadlines[0].Partitions[0].FaultySectors.Count(); n != 1 {
		t.Errorf("faulty sectors decoded as %d, want 1", n)
	}
	bad, err := c.CheckProvable(ctx, 10000, []proof.ExtendedSectorInfo{{SealProof: 5, SectorNumber: 7, SealedCID: testSealedCID}}, true)
	if err != nil || bad[7] != "sector 7 of 10000: missing" || len(bad) != 1 {
		t.Errorf("CheckProvable = %v, %v", bad, err)
	}
	if _, params := rec.lastParams(t); params != `[10000,[{"SealProof":5,"SectorNumber":7,"SectorKey":null,"SealedCID":{"/":"`+testSealedCID.String()+`"}}],true]` {
		t.Errorf("CheckProvable sent %s", params)
	}
}

func TestIsMockManager(t *testing.T) {
	for v, want := range map[string]bool{
		"venus-sector-manager 0.1.0+abc (proofs: mock) (chain: mock)": true,
		"venus-sector-manager 0.1.0+abc (proofs: ffi)":                false,
		"":                                 false,
		"(chain: mock) but not at the end": false,
	} {
		if got := api.IsMockManager(v); got != want {
			t.Errorf("IsMockManager(%q) = %v", v, got)
		}
	}
}

// ObserveCalls times every call of a client by its method name, its error included, and changes
// nothing of what goes on the wire.
func TestObserveCallsOfAClient(t *testing.T) {
	srv, rec := startManager(t, &fakeManager{})
	c := newManagerClient(t, srv)
	var mu sync.Mutex
	var seen []string
	api.ObserveCalls(c, func(method string, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s %v %v", method, err == nil, took > 0))
	})
	ctx := context.Background()
	if _, err := c.AssignTicket(ctx, abi.SectorID{Miner: 10000, Number: 1}); err != nil {
		t.Fatal(err)
	}
	if method, params := rec.lastParams(t); method != "Venus.AssignTicket" || params != `[{"Miner":10000,"Number":1}]` {
		t.Errorf("observed client sent %s %s", method, params)
	}
	if _, err := c.AssignTicket(ctx, abi.SectorID{Miner: 10000, Number: missingSector}); !api.IsSectorStateNotFound(err) {
		t.Fatalf("AssignTicket(missing) = %v, want the not-found code through the wrapper", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"AssignTicket true true", "AssignTicket false true"}; !slices.Equal(seen, want) {
		t.Errorf("observed %v, want %v", seen, want)
	}
}
