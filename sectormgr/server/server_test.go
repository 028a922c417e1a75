package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// startServer serves a 2KiB mock for miner 10000 on a free local port until the test ends.
func startServer(t *testing.T, opts ...server.Option) (addr string, m *mock.Mock) {
	t.Helper()
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.New(m, opts...)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	})
	return ln.Addr().String(), m
}

func client(t *testing.T, endpoint string) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

type rpcResponse struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func post(t *testing.T, addr, path, body string) (int, rpcResponse) {
	t.Helper()
	resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out rpcResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	return resp.StatusCode, out
}

func zeroCommD(t *testing.T) [32]byte {
	t.Helper()
	raw, err := commcid.CIDToDataCommitmentV1(zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(2 << 10).Unpadded()))
	if err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], raw)
	return out
}

// waitLanded polls until a message lands: the manager sends it off the submit call's path.
func waitLanded(t *testing.T, what string, poll func() (api.OnChainState, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := poll()
		if err == nil && st == api.OnChainLanded {
			return
		}
		if err != nil || (st != api.OnChainPending && st != api.OnChainPacked) || time.Now().After(deadline) {
			t.Fatalf("%s = %v, %v; want Pending or Packed until Landed", what, st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHappyPathOverHTTP walks a sector through every call a sealing worker makes, over the wire.
func TestHappyPathOverHTTP(t *testing.T) {
	addr, m := startServer(t)
	c := client(t, "http://"+addr+api.ManagerRPCPath)
	ctx := context.Background()
	worker := api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/tmp/store1"}
	report := func(sid abi.SectorID, prev, next string) {
		t.Helper()
		req := api.ReportStateReq{Worker: worker, StateChange: api.SectorStateChange{Prev: prev, Next: next, Event: "None"}}
		if err := c.ReportState(ctx, sid, req); err != nil {
			t.Fatalf("ReportState %s→%s: %v", prev, next, err)
		}
	}

	sector, err := c.AllocateSector(ctx, api.AllocateSectorSpec{})
	if err != nil || sector == nil {
		t.Fatalf("AllocateSector = %+v, %v", sector, err)
	}
	sid := sector.ID
	report(sid, "Empty", "Allocated")

	ticket, err := c.AssignTicket(ctx, sid)
	if err != nil || len(ticket.Ticket) != 32 {
		t.Fatalf("AssignTicket = %+v, %v", ticket, err)
	}
	commD := zeroCommD(t)
	pre := api.PreCommitOnChainInfo{CommR: mockproof.CommR(sector.ProofType, sid, ticket.Ticket, commD), CommD: commD, Ticket: ticket}
	if resp, err := c.SubmitPreCommit(ctx, *sector, pre, false); err != nil || resp.Res != api.SubmitAccepted {
		t.Fatalf("SubmitPreCommit = %+v, %v", resp, err)
	}
	waitLanded(t, "PollPreCommitState", func() (api.OnChainState, error) {
		st, err := c.PollPreCommitState(ctx, sid)
		return st.State, err
	})
	store, err := c.StoreReserveSpace(ctx, sid, 2048, []string{"store1"})
	if err != nil || store == nil || store.Name != "store1" {
		t.Fatalf("StoreReserveSpace = %+v, %v", store, err)
	}
	if ok, err := c.SubmitPersisted(ctx, sid, store.Name); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	seed, err := c.WaitSeed(ctx, sid)
	if err != nil || seed.Seed == nil {
		t.Fatalf("WaitSeed = %+v, %v", seed, err)
	}
	proof, err := mockproof.SealProof(sector.ProofType, sid, ticket.Ticket, seed.Seed.Seed, pre.CommR, pre.CommD)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.SubmitProof(ctx, sid, api.ProofOnChainInfo{Proof: proof}, false); err != nil || resp.Res != api.SubmitAccepted {
		t.Fatalf("SubmitProof = %+v, %v", resp, err)
	}
	waitLanded(t, "PollProofState", func() (api.OnChainState, error) {
		st, err := c.PollProofState(ctx, sid)
		return st.State, err
	})
	report(sid, "ProofSubmitted", "Finished")
	if err := c.ReportFinalized(ctx, sid); err != nil {
		t.Fatalf("ReportFinalized: %v", err)
	}

	st, online, found := m.Sector(sid)
	if !found || online || !st.Finalized || st.LatestState == nil || st.LatestState.StateChange.Next != "Finished" || st.LatestState.Worker != worker {
		t.Fatalf("final state = %+v online=%v found=%v", st, online, found)
	}
	if _, err := c.AssignTicket(ctx, sid); !api.IsSectorStateNotFound(err) {
		t.Fatalf("AssignTicket after finalize: %v, want code 11001", err)
	}
	if err := c.ReportState(ctx, sid, api.ReportStateReq{}); !api.IsSectorStateNotFound(err) {
		t.Fatalf("ReportState after finalize: %v, want code 11001", err)
	}
}

func TestWebsocketClientAndShutdown(t *testing.T) {
	addr, _ := startServer(t)
	// The websocket stays open when the test ends: startServer's cleanup checks that Serve still
	// stops and returns nil.
	c := client(t, "ws://"+addr+api.ManagerRPCPath)
	ctx := context.Background()
	for want := abi.SectorNumber(1); want <= 2; want++ {
		s, err := c.AllocateSector(ctx, api.AllocateSectorSpec{})
		if err != nil || s == nil || s.ID.Number != want {
			t.Fatalf("AllocateSector over websocket = %+v, %v", s, err)
		}
	}
	if err := c.WorkerPing(ctx, api.WorkerInfo{Name: "w1", Dest: "127.0.0.1:17890"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.WorkerPingInfoList(ctx)
	if err != nil || len(list) != 1 || list[0].Info.Name != "w1" {
		t.Fatalf("WorkerPingInfoList = %+v, %v", list, err)
	}
}

func TestWireFormats(t *testing.T) {
	addr, _ := startServer(t)
	cases := []struct {
		name, body, result, err string
	}{
		{"allocate", `{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":null,"AllowedProofTypes":null}],"id":1}`,
			`{"ID":{"Miner":10000,"Number":1},"ProofType":5}`, ""},
		{"filtered allocate is null", `{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":[1000],"AllowedProofTypes":null}],"id":2}`,
			`null`, ""},
		{"precommit poll", `{"jsonrpc":"2.0","method":"Venus.PollPreCommitState","params":[{"Miner":10000,"Number":1}],"id":3}`,
			`{"State":5,"Desc":"attempt to publish message but failed"}`, ""},
		{"store info", `{"jsonrpc":"2.0","method":"Venus.StoreBasicInfo","params":["store1"],"id":4}`,
			`{"Name":"store1","Path":"store1","Meta":{}}`, ""},
		{"report", `{"jsonrpc":"2.0","method":"Venus.ReportState","params":[{"Miner":10000,"Number":1},{"Worker":{"Instance":"127.0.0.1","Location":"/s"},"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null}],"id":5}`,
			`null`, ""},
		{"unknown sector", `{"jsonrpc":"2.0","method":"Venus.AssignTicket","params":[{"Miner":10000,"Number":7}],"id":6}`,
			"", `{"code":11001,"message":"error code 11001: sector state not found"}`},
		{"ping without name", `{"jsonrpc":"2.0","method":"Venus.WorkerPing","params":[{"Name":"","Dest":"x","Summary":{"Threads":0,"Empty":0,"Paused":0,"Errors":0}}],"id":7}`,
			"", `{"code":1,"message":"worker name is required"}`},
		{"unknown worker", `{"jsonrpc":"2.0","method":"Venus.WorkerGetPingInfo","params":["nobody"],"id":8}`,
			`null`, ""},
		{"report for an unknown sector", `{"jsonrpc":"2.0","method":"Venus.ReportState","params":[{"Miner":10000,"Number":7},{"Worker":{"Instance":"w","Location":"/s"},"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null}],"id":9}`,
			"", `{"code":11001,"message":"error code 11001: sector state not found"}`},
		{"original worker ping", `{"jsonrpc":"2.0","method":"Venus.WorkerPing","params":[{"Name":"w1","Dest":"127.0.0.1:17890","Summary":{"Threads":3,"Empty":0,"Paused":3,"Errors":3}}],"id":10}`,
			`null`, ""},
		{"list online", `{"jsonrpc":"2.0","method":"Venus.ListSectors","params":["online",1],"id":12}`,
			`[{"ID":{"Miner":10000,"Number":1},"SectorType":5,"Deals":null,"MessageInfo":{"PreCommitCid":null,"CommitCid":null,"NeedSend":false},` +
				`"TerminateInfo":{"TerminateCid":null,"TerminatedAt":0,"AddedHeight":0},"LatestState":{"Worker":{"Instance":"127.0.0.1","Location":"/s"},` +
				`"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null},"Finalized":false,"Removed":false,"AbortReason":"",` +
				`"Upgraded":false,"UpgradePublic":null,"UpgradedInfo":null,"UpgradeMessageID":null,"UpgradeLandedEpoch":null,"Imported":false}]`, ""},
		{"list snap-up", `{"jsonrpc":"2.0","method":"Venus.ListSectors","params":["online",2],"id":20}`,
			`null`, ""},
		{"list a bad store", `{"jsonrpc":"2.0","method":"Venus.ListSectors","params":["nowhere",0],"id":13}`,
			"", `{"code":-32602,"message":"invalid sector store \"nowhere\": want \"online\" or \"offline\""}`},
		{"find in the offline store", `{"jsonrpc":"2.0","method":"Venus.FindSector","params":["offline",{"Miner":10000,"Number":1}],"id":14}`,
			"", `{"code":11001,"message":"sector s-t010000-1 not found in the offline store"}`},
		{"restore an online sector", `{"jsonrpc":"2.0","method":"Venus.RestoreSector","params":[{"Miner":10000,"Number":1},false],"id":15}`,
			"", `{"code":1,"message":"load state from offline: sector s-t010000-1 not found (only a finalized or aborted sector can be restored)"}`},
		{"remove an unknown worker", `{"jsonrpc":"2.0","method":"Venus.WorkerPingInfoRemove","params":["w9"],"id":16}`,
			"", `{"code":1,"message":"worker info not found: no worker named \"w9\" has pinged this manager (see util worker list)"}`},
		{"proxy to an unknown worker", `{"jsonrpc":"2.0","method":"Venus.WorkerAdminList","params":["no such worker"],"id":17}`,
			"", `{"code":1,"message":"resolve worker dest: no worker named \"no such worker\" has pinged this manager: the worker must ping first (start it; its name is in util worker list after its first ping)"}`},
		{"resolve a registered worker", `{"jsonrpc":"2.0","method":"Venus.WorkerResolveDest","params":["w1"],"id":18}`,
			`"127.0.0.1:17890"`, ""},
		{"remove a worker", `{"jsonrpc":"2.0","method":"Venus.WorkerPingInfoRemove","params":["w1"],"id":19}`,
			`null`, ""},
	}
	for _, c := range cases {
		status, resp := post(t, addr, api.ManagerRPCPath, c.body)
		if status != http.StatusOK || string(resp.Result) != c.result || string(resp.Error) != c.err {
			t.Errorf("%s: status %d result %s error %s; want result %s error %s", c.name, status, resp.Result, resp.Error, c.result, c.err)
		}
	}

	// The report above is in the sector's history, stamped with the manager's clock.
	_, resp := post(t, addr, api.ManagerRPCPath, `{"jsonrpc":"2.0","method":"Venus.SectorHistory","params":[{"Miner":10000,"Number":1}],"id":21}`)
	var history []api.SectorHistoryEntry
	if err := json.Unmarshal(resp.Result, &history); err != nil || len(history) != 1 || time.Since(history[0].Time) > time.Hour ||
		!bytes.Contains(resp.Result, []byte(`Z","Worker":{"Instance":"127.0.0.1","Location":"/s"},"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},"Failure":null}]`)) {
		t.Errorf("history = %s (%v)", resp.Result, err)
	}
}

func TestOnlyTheAPIIsServed(t *testing.T) {
	addr, _ := startServer(t)
	for _, method := range []string{"Sectors", "Sector", "Miner"} {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","method":"Venus.%s","params":[],"id":1}`, method)
		_, resp := post(t, addr, api.ManagerRPCPath, body)
		if !bytes.Contains(resp.Error, []byte(`"code":-32601`)) {
			t.Errorf("Venus.%s: error %s, want method not found (-32601)", method, resp.Error)
		}
	}
}

func TestRequestSizeIsLimited(t *testing.T) {
	addr, _ := startServer(t, server.WithMaxRequestSize(1024))
	name := strings.Repeat("a", 2048)
	_, resp := post(t, addr, api.ManagerRPCPath, `{"jsonrpc":"2.0","method":"Venus.StoreBasicInfo","params":["`+name+`"],"id":1}`)
	if !bytes.Contains(resp.Error, []byte("request bigger than maximum 1024 allowed")) || resp.Result != nil {
		t.Fatalf("oversized request: result %s error %s", resp.Result, resp.Error)
	}
}

func TestPprofIsMounted(t *testing.T) {
	addr, _ := startServer(t)
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/pprof/ status %d", resp.StatusCode)
	}
}

func TestListenNamesTheAddress(t *testing.T) {
	taken, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	_, err = server.Listen(busy)
	if err == nil || !strings.Contains(err.Error(), `"`+busy+`"`) || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("Listen(bad) err = %v", err)
	}
}
