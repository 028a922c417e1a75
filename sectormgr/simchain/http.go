package simchain

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// RPCPath is where the node serves the Lotus v1 API.
const RPCPath = "/rpc/v1"

// fullNodeAPI is what the JSON-RPC server registers: go-jsonrpc serves every exported method of
// the value it is given, and the method set of a struct embedding an interface is exactly that
// interface's, so only the FullNode methods are served (not Advance, SetDown, …).
type fullNodeAPI struct {
	chain.FullNode
}

// Handler serves the chain as a Lotus full node at RPCPath (namespace Filecoin; HTTP POST and
// websocket). With Options.Token, a request without `Authorization: Bearer <Token>` is refused
// with 401 before its body is read (Lotus would let it call read methods; this node lets it
// call nothing). Close ends the connections it serves.
func (c *Chain) Handler() http.Handler {
	rpc := jsonrpc.NewServer()
	rpc.Register(chain.Namespace, &fullNodeAPI{FullNode: c})
	mux := http.NewServeMux()
	mux.Handle(RPCPath, c.authorize(c.closable(rpc)))
	return mux
}

func (c *Chain) authorize(next http.Handler) http.Handler {
	if c.opts.Token == "" {
		return next
	}
	want := []byte("Bearer " + c.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="simchain"`)
			http.Error(w, "unauthorized: send the node's token as Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closable ends each request, websockets included, when the chain is closed.
func (c *Chain) closable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.closed() {
			http.Error(w, ErrClosed.Error(), http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(c.life, cancel)
		defer stop()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Serve serves Handler on ln until ctx ends, the chain is closed or ln is closed; then it
// closes every connection it opened. A closed listener or an ended ctx is a normal end (nil).
func (c *Chain) Serve(ctx context.Context, ln net.Listener) error {
	base, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	stop := context.AfterFunc(base, func() { srv.Close() })
	defer stop()
	stopOnClose := context.AfterFunc(c.life, cancel)
	defer stopOnClose()
	err := srv.Serve(ln)
	cancel() // ends the websockets, which http.Server does not track
	srv.Close()
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
