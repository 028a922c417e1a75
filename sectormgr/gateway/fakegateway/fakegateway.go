// Package fakegateway is a venus-gateway for tests: it serves the proof-event methods of
// venus-shared api/gateway/v1 (namespace Gateway, websocket, Authorization: Bearer) on
// 127.0.0.1, relays ComputeProof requests to the connected listeners as the real gateway relays
// venus-miner's, and decodes the answers into go-state-types proofs.
package fakegateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
)

// Gateway is a running fake gateway.
type Gateway struct {
	// Addr is host:port; URL is the websocket endpoint the manager dials.
	Addr string
	URL  string

	token string
	srv   *http.Server
	done  chan struct{}

	mu        sync.Mutex
	listeners map[address.Address][]*listener
	pending   map[uuid.UUID]chan *gateway.ResponseEvent
	headers   []http.Header
	connected chan struct{} // closed and replaced on every new listener
}

type listener struct {
	ch     chan *gateway.RequestEvent
	closed bool
}

// Start serves a gateway on 127.0.0.1 at a free port (addr "") or at addr, refusing requests
// without `Authorization: Bearer <token>` when token is not empty.
func Start(addr, token string) (*Gateway, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		Addr: ln.Addr().String(), token: token, done: make(chan struct{}),
		listeners: map[address.Address][]*listener{}, pending: map[uuid.UUID]chan *gateway.ResponseEvent{},
		connected: make(chan struct{}),
	}
	g.URL = "ws://" + g.Addr + gateway.RPCPath
	rpc := jsonrpc.NewServer()
	rpc.Register(gateway.Namespace, &handler{g: g})
	mux := http.NewServeMux()
	mux.Handle(gateway.RPCPath, g.authorize(rpc))
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(g.done)
		_ = g.srv.Serve(ln)
	}()
	return g, nil
}

// Close stops the gateway and ends every connection.
func (g *Gateway) Close() {
	_ = g.srv.Close()
	<-g.done
	g.DropListeners()
}

// authorize checks the token before the body is read.
func (g *Gateway) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+g.token)) != 1 {
			http.Error(w, "unauthorized: send the gateway's token as Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		g.headers = append(g.headers, r.Header.Clone())
		g.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Headers are the request headers of every authorized connection, in order.
func (g *Gateway) Headers() []http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]http.Header(nil), g.headers...)
}

// Listeners is how many listeners of miner are connected.
func (g *Gateway) Listeners(miner address.Address) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.listeners[miner])
}

// WaitListener waits until miner has a listener.
func (g *Gateway) WaitListener(ctx context.Context, miner address.Address) error {
	for {
		g.mu.Lock()
		n, wake := len(g.listeners[miner]), g.connected
		g.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no listener of %s: %w", miner, ctx.Err())
		case <-wake:
		}
	}
}

// DropListeners closes every listener's channel, as a gateway does when it restarts.
func (g *Gateway) DropListeners() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for m, ls := range g.listeners {
		for _, l := range ls {
			l.close()
		}
		delete(g.listeners, m)
	}
}

func (l *listener) close() {
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
}

// Send relays an event of method with payload to miner's first listener and waits for the
// answer.
func (g *Gateway) Send(ctx context.Context, miner address.Address, method string, payload []byte) (*gateway.ResponseEvent, error) {
	id := uuid.New()
	answer := make(chan *gateway.ResponseEvent, 1)
	g.mu.Lock()
	ls := g.listeners[miner]
	if len(ls) == 0 {
		g.mu.Unlock()
		return nil, fmt.Errorf("miner %s has no listener", miner)
	}
	g.pending[id] = answer
	ev := &gateway.RequestEvent{ID: id, Method: method, Payload: payload}
	select {
	case ls[0].ch <- ev:
	default:
		delete(g.pending, id)
		g.mu.Unlock()
		return nil, errors.New("the listener's channel is full")
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.pending, id)
		g.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer to %s %s: %w", method, id, ctx.Err())
	case resp := <-answer:
		return resp, nil
	}
}

// ComputeProof asks miner's listener for a WinningPoSt, as venus-miner does through the
// gateway, and decodes the proofs of the answer (or returns its error).
func (g *Gateway) ComputeProof(ctx context.Context, miner address.Address, req gateway.ComputeProofRequest) ([]proof.PoStProof, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := g.Send(ctx, miner, gateway.MethodComputeProof, payload)
	if err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	var proofs []proof.PoStProof
	if err := json.Unmarshal(resp.Payload, &proofs); err != nil {
		return nil, fmt.Errorf("the answer's payload is not []PoStProof: %w", err)
	}
	return proofs, nil
}

// handler is what the JSON-RPC server serves under Gateway.
type handler struct{ g *Gateway }

// ListenProofEvent registers a listener and greets it with InitConnect, as venus-gateway does.
func (h *handler) ListenProofEvent(ctx context.Context, policy *gateway.ProofRegisterPolicy) (<-chan *gateway.RequestEvent, error) {
	if policy == nil || policy.MinerAddress == address.Undef {
		return nil, errors.New("a policy with MinerAddress is required")
	}
	g := h.g
	l := &listener{ch: make(chan *gateway.RequestEvent, 16)}
	hello, _ := json.Marshal(gateway.ConnectedCompleted{ChannelId: uuid.New()})
	l.ch <- &gateway.RequestEvent{ID: uuid.New(), Method: gateway.MethodInitConnect, Payload: hello}
	g.mu.Lock()
	g.listeners[policy.MinerAddress] = append(g.listeners[policy.MinerAddress], l)
	close(g.connected)
	g.connected = make(chan struct{})
	g.mu.Unlock()
	context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		ls := g.listeners[policy.MinerAddress]
		for i, x := range ls {
			if x == l {
				g.listeners[policy.MinerAddress] = append(ls[:i:i], ls[i+1:]...)
				break
			}
		}
		l.close()
	})
	return l.ch, nil
}

// ResponseProofEvent hands an answer to the request waiting for it.
func (h *handler) ResponseProofEvent(ctx context.Context, resp *gateway.ResponseEvent) error {
	if resp == nil {
		return errors.New("a response is required")
	}
	h.g.mu.Lock()
	answer, ok := h.g.pending[resp.ID]
	h.g.mu.Unlock()
	if !ok {
		return fmt.Errorf("no request %s is waiting", resp.ID)
	}
	select {
	case answer <- resp:
		return nil
	default:
		return fmt.Errorf("request %s was answered already", resp.ID)
	}
}
