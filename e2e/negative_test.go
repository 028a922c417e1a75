package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rpcAnswer is one JSON-RPC answer as it came over the wire.
type rpcAnswer struct {
	status int
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func postRPC(t *testing.T, url, body string) rpcAnswer {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := rpcAnswer{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer %q: %v", raw, err)
	}
	return a
}

// wantRPCError checks that body is refused with code and exactly msg.
func wantRPCError(t *testing.T, url, what, body string, code int, msg string) {
	t.Helper()
	a := postRPC(t, url, body)
	if a.Error == nil || a.Error.Code != code || a.Error.Message != msg || a.Result != nil {
		t.Errorf("%s: status %d, result %s, error %+v\nwant code %d %q", what, a.status, a.Result, a.Error, code, msg)
	}
}

func call(method string, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s,"id":1}`, method, params)
}

// oversized is a call whose body is one byte over limit.
func oversized(method string, limit int) string {
	head := `{"jsonrpc":"2.0","method":"` + method + `","params":["`
	tail := `"],"id":1}`
	return head + strings.Repeat("x", limit+1-len(head)-len(tail)) + tail
}

// The manager's JSON-RPC server refuses malformed calls with an error that says what is wrong,
// refuses bodies above 16 MiB, and serves the next good call as before.
func TestManagerRefusesBadRequests(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startManagerProc(t, addr)
	url := "http://" + addr + "/rpc/v0"
	sid := `{"Miner":10000,"Number":1}`

	wantRPCError(t, url, "unknown method", call("Venus.NoSuchMethod", "[]"), -32601, "method 'Venus.NoSuchMethod' not found")
	wantRPCError(t, url, "unknown namespace", call("VenusWorker.WorkerList", "[]"), -32601, "method 'VenusWorker.WorkerList' not found")
	wantRPCError(t, url, "too few params", call("Venus.AllocateSector", "[]"), -32602, "wrong param count (method 'Venus.AllocateSector'): 0 != 1")
	wantRPCError(t, url, "too many params", call("Venus.ReportAborted", "["+sid+`,"why","extra"]`), -32602, "wrong param count (method 'Venus.ReportAborted'): 3 != 2")
	wantRPCError(t, url, "string for a sector id", call("Venus.AssignTicket", `["s-t010000-1"]`), -32700,
		"unmarshaling params for 'Venus.AssignTicket' (param: *abi.SectorID): json: cannot unmarshal string into Go value of type abi.SectorID")
	wantRPCError(t, url, "number for a reason", call("Venus.ReportAborted", "["+sid+",7]"), -32700,
		"unmarshaling params for 'Venus.ReportAborted' (param: *string): json: cannot unmarshal number into Go value of type string")
	wantRPCError(t, url, "negative number", call("Venus.StoreReserveSpace", "["+sid+`,-1,["s"]]`), -32700,
		"unmarshaling params for 'Venus.StoreReserveSpace' (param: *uint64): json: cannot unmarshal number -1 into Go value of type uint64")
	wantRPCError(t, url, "params as an object", call("Venus.AssignTicket", `{"sid":1}`), -32700,
		"unmarshaling param array: json: cannot unmarshal object into Go value of type []jsonrpc.param")
	wantRPCError(t, url, "not JSON", `{"jsonrpc":"2.0",`, -32700, "Parse error")
	wantRPCError(t, url, "oversized body", oversized("Venus.ReportAborted", 16<<20), -32700, "request bigger than maximum 16777216 allowed")

	// A bad call changes nothing: the first allocation is still number 1.
	a := postRPC(t, url, call("Venus.AllocateSector", `[{"AllowedMiners":null,"AllowedProofTypes":null}]`))
	if a.Error != nil || string(a.Result) != `{"ID":{"Miner":10000,"Number":1},"ProofType":5}` {
		t.Errorf("AllocateSector after the bad calls: %s %+v", a.Result, a.Error)
	}
}

// The worker's admin API refuses malformed calls, a thread index that does not exist, an invalid
// environment variable name, and bodies above 1 MiB; the worker keeps sealing.
func TestWorkerAdminRefusesBadRequests(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 2)
	startWorker(t, w)
	url := "http://" + w.adminAddr + "/"

	wantRPCError(t, url, "unknown method", call("VenusWorker.WorkerFly", "[]"), -32601, "method 'VenusWorker.WorkerFly' not found")
	wantRPCError(t, url, "manager method", call("Venus.AllocateSector", "[{}]"), -32601, "method 'Venus.AllocateSector' not found")
	wantRPCError(t, url, "pause without index", call("VenusWorker.WorkerPause", "[]"), -32602, "wrong param count (method 'VenusWorker.WorkerPause'): 0 != 1")
	wantRPCError(t, url, "pause with a string", call("VenusWorker.WorkerPause", `["0"]`), -32700,
		"unmarshaling params for 'VenusWorker.WorkerPause' (param: *uint64): json: cannot unmarshal string into Go value of type uint64")
	wantRPCError(t, url, "resume without params", call("VenusWorker.WorkerResume", "[]"), -32602, "WorkerResume takes [index, state|null]")
	wantRPCError(t, url, "resume with three params", call("VenusWorker.WorkerResume", `[0,null,1]`), -32602, "WorkerResume takes [index, state|null]")
	wantRPCError(t, url, "resume with a negative index", call("VenusWorker.WorkerResume", `[-1]`), -32602, "invalid thread index -1: want a non-negative integer")
	wantRPCError(t, url, "resume in a number", call("VenusWorker.WorkerResume", `[0,7]`), -32602, "invalid state 7: want a state name or null")
	wantRPCError(t, url, "resume a thread that does not exist", call("VenusWorker.WorkerResume", `[2]`), -32602, "worker #2 not found")
	wantRPCError(t, url, "resume a huge index", call("VenusWorker.WorkerResume", `[18446744073709551615,"PC1Done"]`), -32602, "worker #18446744073709551615 not found")
	wantRPCError(t, url, "pause a thread that does not exist", call("VenusWorker.WorkerPause", `[9]`), -32602, "worker #9 not found")
	wantRPCError(t, url, "resume in an unknown state", call("VenusWorker.WorkerResume", `[0,"Sealed"]`), -32602, "invalid state Sealed")
	for _, name := range []string{`""`, `"A=B"`, `"A\u0000B"`} {
		wantRPCError(t, url, "set env "+name, call("VenusWorker.WorkerSetEnv", "["+name+`,"v"]`), -32602, "invalid environment variable name or value")
	}
	wantRPCError(t, url, "set env with a NUL in the value", call("VenusWorker.WorkerSetEnv", `["A","x\u0000y"]`), -32602, "invalid environment variable name or value")
	wantRPCError(t, url, "set env without a value", call("VenusWorker.WorkerSetEnv", `["A"]`), -32602, "wrong param count (method 'VenusWorker.WorkerSetEnv'): 1 != 2")
	wantRPCError(t, url, "remove env =", call("VenusWorker.WorkerRemoveEnv", `["A=B"]`), -32602, "invalid environment variable name")
	wantRPCError(t, url, "not JSON", `[{"jsonrpc"`, -32700, "Parse error")
	wantRPCError(t, url, "oversized body", oversized("VenusWorker.WorkerSetEnv", 1<<20), -32700, "request bigger than maximum 1048576 allowed")

	// Good calls still work, and a valid name is accepted.
	if a := postRPC(t, url, call("VenusWorker.WorkerSetEnv", `["VC_E2E_OK","1"]`)); a.Error != nil {
		t.Errorf("WorkerSetEnv with a good name: %+v", a.Error)
	}
	if a := postRPC(t, url, call("VenusWorker.WorkerList", "[]")); a.Error != nil || !strings.HasPrefix(string(a.Result), `[{"location":`) {
		t.Errorf("WorkerList: %s %+v", a.Result, a.Error)
	}

	// The same refusals through the CLIs: one line naming the index.
	if r := w.cli(t, "resume", "--index", "5"); r.code != 1 || !strings.Contains(r.stderr, "worker #5 not found") {
		t.Errorf("cli resume 5: exit %d, stderr %q", r.code, r.stderr)
	}
	waitFor(t, "the worker registered with the manager", 20*time.Second, func() bool {
		p, _ := mgr.WorkerGetPingInfo(context.Background(), "e2e-worker")
		return p != nil
	})
	if r := util(t, addr, "worker", "resume", "e2e-worker", "99"); r.code == 0 || !strings.Contains(r.stderr, "worker #99 not found") {
		t.Errorf("util worker resume 99: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := util(t, addr, "worker", "resume", "e2e-worker", "0", "Sealed"); r.code == 0 || !strings.Contains(r.stderr, "invalid state Sealed") {
		t.Errorf("util worker resume 0 Sealed: exit %d, stderr %q", r.code, r.stderr)
	}
	waitFor(t, "sealing goes on", 60*time.Second, func() bool { return len(mgr.finalized()) >= 2 })
}
