package simchain_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

const token = "s3cret"

// serve serves the chain on 127.0.0.1:0 and returns its /rpc/v1 URL.
func serve(t *testing.T, c *simchain.Chain) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { served <- c.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + simchain.RPCPath
}

func dial(t *testing.T, url, tok string) *chain.Node {
	t.Helper()
	n, err := chain.Dial(ctx, url, tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func TestHTTPFullNode(t *testing.T) {
	s := newSim(t, simchain.Options{Token: token})
	n := dial(t, serve(t, s.c), token)
	head, err := n.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := s.c.ChainHead(ctx)
	if head.Height != 2000 || !head.Cids[0].Equals(local.Cids[0]) || head.Blocks[0].Timestamp != local.Blocks[0].Timestamp {
		t.Fatalf("head over HTTP %+v, local %+v", head, local)
	}
	mi, err := n.StateMinerInfo(ctx, testMiner, chain.EmptyTSK)
	if err != nil || mi.Worker.String() != "f0101" || mi.NewWorker != address.Undef {
		t.Fatalf("miner info over HTTP %+v, %v", mi, err)
	}
	sm, err := n.MpoolPushMessage(ctx, &chain.Message{To: testMiner, From: mi.Worker, Method: builtin.MethodSend, Value: big.NewInt(3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sm.Cid()
	waited := make(chan *chain.MsgLookup, 1)
	go func() {
		l, err := n.StateWaitMsg(ctx, c, 1, -1, false)
		if err != nil {
			t.Error(err)
		}
		waited <- l
	}()
	s.advance(2)
	if l := <-waited; l == nil || l.Height != 2001 || !l.Message.Equals(c) {
		t.Fatalf("StateWaitMsg over HTTP: %+v", l)
	}
	// A node error comes back as the client's NodeError.
	unknown, _ := address.NewIDAddress(999)
	_, err = n.StateMinerInfo(ctx, unknown, chain.EmptyTSK)
	var ne *chain.NodeError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "Filecoin.StateMinerInfo") || !strings.Contains(err.Error(), "failed to load miner actor: actor not found") {
		t.Fatalf("unknown miner over HTTP: %v", err)
	}
	// HTTP calls are counted with the Go ones, and the down switch covers them.
	s.c.SetDown(errors.New("node is down"))
	if _, err := n.ChainHead(ctx); !errors.As(err, &ne) || !strings.Contains(err.Error(), "node is down") {
		t.Fatalf("ChainHead over HTTP while down: %v", err)
	}
	s.c.SetDown(nil)
	if calls := s.c.Calls(); calls["Filecoin.ChainHead"] != 3 || calls["Filecoin.MpoolPushMessage"] != 1 || calls["Filecoin.StateMinerInfo"] != 2 {
		t.Fatalf("calls %v", calls)
	}
}

func post(t *testing.T, h http.Handler, path, auth, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// failingBody fails the test if anything reads it.
type failingBody struct{ t *testing.T }

func (b failingBody) Read([]byte) (int, error) {
	b.t.Error("the handler read the body of an unauthorised request")
	return 0, errors.New("must not be read")
}

func (failingBody) Close() error { return nil }

func TestHTTPAuth(t *testing.T) {
	s := newSim(t, simchain.Options{Token: token})
	h := s.c.Handler()
	call := `{"jsonrpc":"2.0","id":1,"method":"Filecoin.StateNetworkVersion","params":[[]]}`
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", token, "bearer " + token} {
		if rec := post(t, h, simchain.RPCPath, auth, call); rec.Code != http.StatusUnauthorized ||
			rec.Body.String() != "unauthorized: send the node's token as Authorization: Bearer <token>\n" {
			t.Fatalf("Authorization %q: %d %q", auth, rec.Code, rec.Body.String())
		}
	}
	req := httptest.NewRequest(http.MethodPost, simchain.RPCPath, nil)
	req.Body = failingBody{t}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unauthorised request with a body: %d", rec.Code)
	}
	rec = post(t, h, simchain.RPCPath, "Bearer "+token, call)
	if rec.Code != http.StatusOK || rec.Body.String() != `{"id":1,"jsonrpc":"2.0","result":25}`+"\n" {
		t.Fatalf("authorised: %d %q", rec.Code, rec.Body.String())
	}
	if calls := s.c.Calls(); calls["Filecoin.StateNetworkVersion"] != 1 {
		t.Fatalf("unauthorised requests were counted: %v", calls)
	}
	// Without a token the node is open.
	open := newSim(t, simchain.Options{}).c.Handler()
	if rec := post(t, open, simchain.RPCPath, "", call); rec.Code != http.StatusOK {
		t.Fatalf("no token: %d %q", rec.Code, rec.Body.String())
	}
}

func TestHTTPServesOnlyFullNodeMethods(t *testing.T) {
	s := newSim(t, simchain.Options{})
	h := s.c.Handler()
	rec := post(t, h, simchain.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"Filecoin.Advance","params":[100]}`)
	if !strings.Contains(rec.Body.String(), `"message":"method 'Filecoin.Advance' not found"`) || s.c.Head() != 2000 {
		t.Fatalf("Filecoin.Advance: %q, head %d", rec.Body.String(), s.c.Head())
	}
	if rec := post(t, h, "/rpc/v0", "", `{}`); rec.Code != http.StatusNotFound {
		t.Fatalf("/rpc/v0: %d", rec.Code)
	}
}

// wsNode is a websocket client of two FullNode methods.
type wsNode struct {
	ChainHead    func(ctx context.Context) (*chain.TipSet, error)
	StateWaitMsg func(ctx context.Context, msg cid.Cid, confidence uint64, limit int64, allowReplaced bool) (*chain.MsgLookup, error)
}

func TestWebsocketAndClose(t *testing.T) {
	s := newSim(t, simchain.Options{Token: token})
	url := "ws" + strings.TrimPrefix(serve(t, s.c), "http")
	var ws wsNode
	closer, err := jsonrpc.NewMergeClient(ctx, url, chain.Namespace, []any{&ws}, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	head, err := ws.ChainHead(ctx)
	if err != nil || head.Height != 2000 {
		t.Fatalf("ChainHead over websocket: %+v, %v", head, err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := ws.StateWaitMsg(ctx, zeroCommD2KiB, 0, -1, false)
		waiting <- err
	}()
	// Close ends the wait the websocket serves.
	deadline := time.Now().Add(10 * time.Second)
	for s.c.Calls()["Filecoin.StateWaitMsg"] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("StateWaitMsg never reached the node")
		}
		runtime.Gosched()
	}
	s.c.Close()
	if err := <-waiting; err == nil {
		t.Fatal("StateWaitMsg over websocket survived Close")
	}
	if rec := post(t, s.c.Handler(), simchain.RPCPath, "Bearer "+token, `{}`); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("request after Close: %d", rec.Code)
	}
}

func TestServeEndsWithItsListener(t *testing.T) {
	s := newSim(t, simchain.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.c.Serve(ctx, ln) }()
	resp, err := http.Post("http://"+ln.Addr().String()+simchain.RPCPath, "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"Filecoin.ChainHead","params":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"Height":2000`) {
		t.Fatalf("ChainHead: %s", body)
	}
	ln.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve after its listener closed: %v", err)
	}
}
