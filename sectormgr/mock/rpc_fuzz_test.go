package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// noProxy is the mock without the worker admin proxy: a fuzzed WorkerPing could otherwise point
// the proxy at any address, and the fuzzer would spend its time dialling.
type noProxy struct{ *mock.Mock }

var errNoProxy = errors.New("no worker proxy while fuzzing")

func (noProxy) WorkerResolveDest(context.Context, string) (string, error) { return "", errNoProxy }
func (noProxy) WorkerAdminList(context.Context, string) ([]api.WorkerThreadInfo, error) {
	return nil, errNoProxy
}
func (noProxy) WorkerAdminPause(context.Context, string, uint64) (bool, error) {
	return false, errNoProxy
}
func (noProxy) WorkerAdminResume(context.Context, string, uint64, *string) (bool, error) {
	return false, errNoProxy
}

var managerRequestSeeds = []string{
	`{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":null,"AllowedProofTypes":null}],"id":1}`,
	`{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[],"id":2}`,
	`{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":["x"]}],"id":3}`,
	`{"jsonrpc":"2.0","method":"Venus.AssignTicket","params":[{"Miner":10000,"Number":1}],"id":4}`,
	`{"jsonrpc":"2.0","method":"Venus.AssignTicket","params":[{"Miner":-1,"Number":1e400}],"id":5}`,
	`{"jsonrpc":"2.0","method":"Venus.SubmitPreCommit","params":[{"ID":{"Miner":10000,"Number":1},"ProofType":5},{"CommR":[0],"CommD":null,"Ticket":{"Ticket":"AA==","Epoch":1},"Deals":[1]},false],"id":6}`,
	`{"jsonrpc":"2.0","method":"Venus.SubmitProof","params":[{"Miner":10000,"Number":1},{"Proof":"!!"},true],"id":7}`,
	`{"jsonrpc":"2.0","method":"Venus.ReportState","params":[{"Miner":10000,"Number":1},{"Worker":{"Instance":"w","Location":"/l"},"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"Allocate"},"Failure":null}],"id":8}`,
	`{"jsonrpc":"2.0","method":"Venus.ReportFinalized","params":[{"Miner":10000,"Number":1}],"id":9}`,
	`{"jsonrpc":"2.0","method":"Venus.ReportAborted","params":[{"Miner":10000,"Number":1},"why"],"id":10}`,
	`{"jsonrpc":"2.0","method":"Venus.ListSectors","params":[3,0],"id":11}`,
	`{"jsonrpc":"2.0","method":"Venus.FindSector","params":["online",{"Miner":10000,"Number":1}],"id":12}`,
	`{"jsonrpc":"2.0","method":"Venus.WorkerPing","params":[{"Name":"w","Dest":"127.0.0.1:1","Summary":{"Threads":-1}}],"id":13}`,
	`{"jsonrpc":"2.0","method":"Venus.WorkerAdminResume","params":["w",0,"PC1Done"],"id":14}`,
	`{"jsonrpc":"2.0","method":"Venus.StoreReserveSpace","params":[{"Miner":10000,"Number":1},18446744073709551615,[]],"id":15}`,
	`{"jsonrpc":"2.0","method":"Venus.RestoreSector","params":[{"Miner":10000,"Number":1},true],"id":16}`,
	`{"jsonrpc":"2.0","method":"Venus.SectorHistory","params":[{"Miner":10000,"Number":1}],"id":17}`,
	`{"jsonrpc":"2.0","method":"Venus.NoSuchMethod","params":[],"id":18}`,
	`{"jsonrpc":"2.0","method":"Venus.WaitSeed","params":{"sid":1},"id":19}`,
	`{"jsonrpc":"2.0","method":"Venus.WaitSeed"}`,
	`[{"jsonrpc":"2.0","method":"Venus.Version","params":[],"id":1},{"jsonrpc":"2.0","method":"Venus.Version","params":[],"id":2}]`,
	`[]`,
	`{"jsonrpc":"2.0","method":"Venus.Version","params":[],"id":{"x":1}}`,
	`{`,
	``,
	"\x00\xff",
}

// FuzzManagerRequest posts arbitrary bodies to the mock manager's HTTP handler (the JSON-RPC
// parameter decoding of every Venus method): every body gets an answer, never a panic or a hang,
// and an answer with a JSON-RPC error says what is wrong. Each body meets a fresh mock, so a
// finding replays alone (a batch still exercises calls that depend on each other).
func FuzzManagerRequest(f *testing.F) {
	for _, s := range managerRequestSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := mock.New(10000, abi.SectorSize(2<<10))
		if err != nil {
			t.Fatal(err)
		}
		h := server.New(noProxy{m})
		req := httptest.NewRequest(http.MethodPost, api.ManagerRPCPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer within 10s to %q", body)
		}
		if rec.Code >= 500 && rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		raw := bytes.TrimSpace(rec.Body.Bytes())
		if len(raw) == 0 || !json.Valid(raw) {
			return // a notification (no id) gets no body; an HTTP-level refusal is plain text
		}
		var answers []json.RawMessage
		if raw[0] == '[' {
			if err := json.Unmarshal(raw, &answers); err != nil {
				t.Fatalf("batch answer %s: %v", raw, err)
			}
		} else {
			answers = []json.RawMessage{raw}
		}
		for _, a := range answers {
			var r struct {
				Error *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(a, &r); err != nil {
				t.Fatalf("answer %s: %v", a, err)
			}
			if r.Error != nil && strings.TrimSpace(r.Error.Message) == "" {
				t.Fatalf("error without a message: %s", a)
			}
		}
	})
}
