// Package server serves a manager implementation over HTTP: go-jsonrpc under the Venus namespace
// at /rpc/v0 (plain POST and websocket) and the Go profiler at /debug/pprof/.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

var log = logging.Logger("server")

// DefaultListen is where the manager listens unless --listen says otherwise: every interface.
var DefaultListen = fmt.Sprintf(":%d", api.DefaultManagerPort)

// DefaultMaxRequestSize bounds a request body; pre-commits and proofs are a few KiB, so this
// only stops runaway clients.
const DefaultMaxRequestSize = 16 << 20

// ShutdownTimeout bounds how long a graceful stop waits for requests in flight.
const ShutdownTimeout = 10 * time.Second

type options struct {
	maxRequestSize int64
	extra          map[string]http.Handler
	verify         func(ctx context.Context, token string) ([]api.Permission, error)
	defaultPerms   []api.Permission
}

// Option changes how New builds the handler.
type Option func(*options)

// WithMaxRequestSize limits request bodies to n bytes.
func WithMaxRequestSize(n int64) Option {
	return func(o *options) { o.maxRequestSize = n }
}

// WithHandler mounts another handler on the same server, e.g. the daemon's /piecestore/.
func WithHandler(pattern string, h http.Handler) Option {
	return func(o *options) { o.extra[pattern] = h }
}

// WithAuth makes the server require tokens: verify returns a token's permissions (and answers
// Venus.AuthVerify), and a call without a token has defaultPerms (none unless given; write lets
// workers without a token seal, for a cluster that is moving to auth). Without this option the
// server is open: every caller may call every method, and Venus.AuthVerify answers an error.
func WithAuth(verify func(ctx context.Context, token string) ([]api.Permission, error), defaultPerms ...api.Permission) Option {
	return func(o *options) {
		o.verify = verify
		o.defaultPerms = defaultPerms
	}
}

// ErrNoAuth is what an open manager answers to Venus.AuthVerify.
var ErrNoAuth = errors.New("this venus-sector-manager runs without auth (a mock without --home), so it has no secret to verify tokens with: " +
	"remove the token from the caller (sector_manager.rpc_client.token of a worker), or start the manager with --home")

// served is what the server registers: the implementation's methods and the server's AuthVerify.
type served struct {
	api.ManagerAPI
	verify func(ctx context.Context, token string) ([]api.Permission, error)
}

func (s served) AuthVerify(ctx context.Context, token string) ([]api.Permission, error) {
	if s.verify == nil {
		return nil, ErrNoAuth
	}
	return s.verify(ctx, token)
}

// New builds the manager's HTTP handler around impl. Every method checks the caller's permission
// (api.ManagerPerm); the caller has every permission unless WithAuth is given.
func New(impl api.ManagerAPI, opts ...Option) http.Handler {
	o := options{maxRequestSize: DefaultMaxRequestSize, extra: map[string]http.Handler{}}
	for _, opt := range opts {
		opt(&o)
	}

	rpc := jsonrpc.NewServer(jsonrpc.WithMaxRequestSize(o.maxRequestSize))
	// go-jsonrpc serves every exported method of what it is given; the permissioned struct
	// narrows that to the API, so helpers of an implementation (the mock's accessors) never reach
	// the wire.
	rpc.Register(api.ManagerNamespace, api.PermissionedManagerAPI(served{ManagerAPI: impl, verify: o.verify}))

	mux := http.NewServeMux()
	mux.Handle(api.ManagerRPCPath, &api.AuthHandler{Verify: o.verify, Default: o.defaultPerms, Next: rpc})
	mountPprof(mux)
	for pattern, h := range o.extra {
		mux.Handle(pattern, h)
	}
	return mux
}

func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// Listen opens the TCP listener for addr (":1789", "127.0.0.1:0", …); the listener's Addr is the
// bound address, port included.
func Listen(addr string) (net.Listener, error) {
	log.Infof("trying to listen on %s", addr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w (check --listen)", addr, err)
	}
	return ln, nil
}

// Serve serves handler on ln until ctx is cancelled, then stops gracefully: new connections are
// refused, requests in flight get ShutdownTimeout to finish, then websocket sessions are closed.
// It returns nil after a stop that ctx asked for.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler) error {
	// Cancelling the base context is what ends hijacked websocket sessions, which
	// http.Server.Shutdown does not track.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Infow("rpc server running", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	cancelBase()
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) && serveErr != nil {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("shut down the rpc server: %w", err)
	}
	log.Info("http server shutdown")
	return nil
}
