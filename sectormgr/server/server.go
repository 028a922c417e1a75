// Package server serves a manager implementation over HTTP: go-jsonrpc under the Venus namespace
// at /rpc/v0 (plain POST and websocket) and the Go profiler at /debug/pprof/, behind the checks
// that keep browsers out (api.BrowserGuard), with bounded timeouts and connections.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
)

var log = logging.Logger("server")

// DefaultListen is where the manager listens unless --listen says otherwise: every interface.
var DefaultListen = fmt.Sprintf(":%d", api.DefaultManagerPort)

// DefaultOpenListen is where a manager without auth listens unless --listen says otherwise: with
// no token to check, only this machine may reach it.
var DefaultOpenListen = fmt.Sprintf("127.0.0.1:%d", api.DefaultManagerPort)

// OpenListenWarning is the line to log before a manager without auth listens on addr, "" when
// addr is loopback only. An explicit address off this machine is allowed (a test cluster on a
// private network), but said out loud.
func OpenListenWarning(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && api.IsLoopbackHost(host) {
		return ""
	}
	return fmt.Sprintf("listening on %s without auth: anyone who can reach it can allocate sectors, "+
		"abort them and manage every worker (pass --home to require tokens, or --listen 127.0.0.1:<port>)", addr)
}

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
	hosts          []string
	page           http.Handler
	metrics        *prometheus.Registry
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
// The profiler then needs an admin token, and the proxy's worker-admin credential is refused for
// every call (Venus.AuthVerify still tells a worker what it allows).
func WithAuth(verify func(ctx context.Context, token string) ([]api.Permission, error), defaultPerms ...api.Permission) Option {
	return func(o *options) {
		o.verify = verify
		o.defaultPerms = defaultPerms
	}
}

// WithAllowedHosts adds DNS names that clients may send as Host, besides IP addresses, loopback
// names and the machine's host name (api.BrowserGuard).
func WithAllowedHosts(names ...string) Option {
	return func(o *options) { o.hosts = append(o.hosts, names...) }
}

// WithPage serves a web page at every GET path no other handler takes (the dashboard). It is
// served without a token: a page holds no data and asks the api, with the operator's token, for
// what it shows.
func WithPage(h http.Handler) Option {
	return func(o *options) { o.page = h }
}

// WithMetrics serves reg at /debug/metrics, with the manager's own series registered on it: RPC
// latency by method, sectors by state, workers online and expired, and pings. Under auth a scrape
// needs a read token (Prometheus's `authorization` setting); without auth it is open, like the api.
func WithMetrics(reg *prometheus.Registry) Option {
	return func(o *options) { o.metrics = reg }
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
// (api.ManagerPerm); the caller has every permission unless WithAuth is given. Every path is
// behind api.BrowserGuard.
func New(impl api.ManagerAPI, opts ...Option) http.Handler {
	o := options{maxRequestSize: DefaultMaxRequestSize, extra: map[string]http.Handler{}}
	for _, opt := range opts {
		opt(&o)
	}

	rpc := jsonrpc.NewServer(jsonrpc.WithMaxRequestSize(o.maxRequestSize))
	// go-jsonrpc serves every exported method of what it is given; the permissioned struct
	// narrows that to the API, so helpers of an implementation (the mock's accessors) never reach
	// the wire.
	var observe []api.CallObserver
	if o.metrics != nil {
		observe = append(observe, registerManagerMetrics(o.metrics, impl))
	}
	rpc.Register(api.ManagerNamespace, api.PermissionedManagerAPI(served{ManagerAPI: impl, verify: o.verify}, observe...))

	var callers func(ctx context.Context, token string) ([]api.Permission, error)
	if o.verify != nil {
		callers = refuseWorkerAdmin(o.verify)
	}
	mux := http.NewServeMux()
	mux.Handle(api.ManagerRPCPath, &api.AuthHandler{Verify: callers, Default: o.defaultPerms, Next: rpc})
	mountPprof(mux, callers)
	for pattern, h := range o.extra {
		if callers != nil {
			// The piece store serves deal payloads: any token of the cluster may read them.
			h = api.RequirePerm(callers, o.defaultPerms, api.PermRead, pattern, h)
		}
		mux.Handle(pattern, h)
	}
	if o.metrics != nil {
		h := metrics.Handler(o.metrics)
		if callers != nil {
			h = api.RequirePerm(callers, o.defaultPerms, api.PermRead, "the metrics", h)
		}
		mux.Handle(metrics.Path, h)
	}
	if o.page != nil {
		mux.Handle("/", o.page)
	}
	return &api.BrowserGuard{Next: mux, Hosts: o.hosts}
}

// refuseWorkerAdmin makes the manager's own api refuse the credential its proxy gives workers.
func refuseWorkerAdmin(verify func(ctx context.Context, token string) ([]api.Permission, error)) func(ctx context.Context, token string) ([]api.Permission, error) {
	return func(ctx context.Context, token string) ([]api.Permission, error) {
		perms, err := verify(ctx, token)
		if err == nil && slices.Contains(perms, api.PermWorkerAdmin) {
			return nil, errWorkerAdminToken
		}
		return perms, err
	}
}

var errWorkerAdminToken = errors.New("this is the manager's worker-admin credential, which workers' admin apis accept and the manager does not: " +
	"use a token from `venus-sector-manager auth create-token`")

// mountPprof serves the Go profiler; with verify (a manager with auth) only to admin tokens: its
// cmdline holds the daemon's argv, and a profile costs CPU.
func mountPprof(mux *http.ServeMux, verify func(ctx context.Context, token string) ([]api.Permission, error)) {
	for path, h := range map[string]http.HandlerFunc{
		"/debug/pprof/":        pprof.Index,
		"/debug/pprof/cmdline": pprof.Cmdline,
		"/debug/pprof/profile": pprof.Profile,
		"/debug/pprof/symbol":  pprof.Symbol,
		"/debug/pprof/trace":   pprof.Trace,
	} {
		if verify == nil {
			mux.Handle(path, h)
			continue
		}
		mux.Handle(path, api.RequirePerm(verify, nil, api.PermAdmin, "the profiler", h))
	}
}

func newHTTPServer(handler http.Handler, base context.Context) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
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

// Limits of the HTTP server. A request's headers must arrive within ReadHeaderTimeout and its
// body within ReadTimeout (pre-commits and proofs are a few KiB); a kept-alive connection is
// closed after IdleTimeout without a request. There is no write timeout: a websocket session
// and a call that waits (e.g. for a seed) may last long.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = time.Minute
	IdleTimeout       = 2 * time.Minute
	// DefaultMaxConnections bounds the connections open at once. A worker keeps about one per
	// sealing thread that calls at the same time, so this serves a few thousand threads; each
	// connection costs some tens of KiB.
	DefaultMaxConnections = 4096
)

type serveOptions struct {
	maxConns int
}

// ServeOption changes how Serve runs the server.
type ServeOption func(*serveOptions)

// WithMaxConnections bounds the connections open at once to n (DefaultMaxConnections unless
// given; n <= 0: no bound). Connections beyond it wait to be accepted.
func WithMaxConnections(n int) ServeOption {
	return func(o *serveOptions) { o.maxConns = n }
}

// Serve serves handler on ln until ctx is cancelled, then stops gracefully: new connections are
// refused, requests in flight get ShutdownTimeout to finish, then websocket sessions are closed.
// It returns nil after a stop that ctx asked for.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, opts ...ServeOption) error {
	o := serveOptions{maxConns: DefaultMaxConnections}
	for _, opt := range opts {
		opt(&o)
	}
	ln = api.LimitListener(ln, o.maxConns)
	// Cancelling the base context is what ends hijacked websocket sessions, which
	// http.Server.Shutdown does not track.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := newHTTPServer(handler, baseCtx)

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
