// Package daemon starts a venus-worker: it checks the config against the sector manager, opens
// the sealing locations, and runs the sealing threads, the admin API and the pinger until stopped.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/version"
	"github.com/ipfs-force-community/venus-cluster-go/worker/admin"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/limit"
	"github.com/ipfs-force-community/venus-cluster-go/worker/piecestore"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/setup"
	"github.com/ipfs-force-community/venus-cluster-go/worker/sealing"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
	"github.com/ipfs-force-community/venus-cluster-go/worker/telemetry"
)

// dialTimeout bounds start-up probes of the sector manager.
const dialTimeout = 10 * time.Second

// shutdownTimeout bounds how long the admin server waits for in-flight calls at stop.
const shutdownTimeout = 5 * time.Second

// Daemon is a started worker, ready to Run.
type Daemon struct {
	cfg      *config.Config
	rpc      *api.ManagerClient
	closeRPC jsonrpc.ClientCloser
	// closeProcs stops the external processors' children.
	closeProcs io.Closer
	pool       *sealing.Pool
	locs       []*store.Location
	listener   net.Listener
	info       api.WorkerInfo
	log        *zap.SugaredLogger
	// verifier checks the tokens of admin calls; nil for a worker without a token (open).
	verifier *admin.Verifier
	// pingNow asks the pinger for a ping before the next tick (after a drain change).
	pingNow chan struct{}
	// metrics is the registry served at /debug/metrics; rec records into it.
	metrics *prometheus.Registry
	rec     *telemetry.Recorder
}

// New runs the start-up sequence of spec/worker.md §3.1; any error aborts start-up and names
// what to fix.
func New(ctx context.Context, cfg *config.Config) (*Daemon, error) {
	d := &Daemon{cfg: cfg, log: logging.Logger("daemon"), metrics: metrics.NewRegistry()}
	d.rec = telemetry.New(d.metrics, telemetry.Sources{Threads: d.threadSamples, Drained: func() bool { return d.pool.Drained() }})
	if err := d.start(ctx); err != nil {
		d.close()
		return nil, err
	}
	d.log.Infow("worker ready", "name", d.info.Name, "dest", d.info.Dest, "threads", len(d.pool.Threads), "manager", cfg.SectorManager.Addr.URL(api.ManagerRPCPath))
	return d, nil
}

func (d *Daemon) start(ctx context.Context) (err error) {
	cfg := d.cfg
	addr := cfg.SectorManager.Addr
	if err := cfg.CheckAdminExposure(); err != nil {
		return err
	}
	d.rpc, d.closeRPC, err = api.NewManagerClient(ctx, addr.URL(api.ManagerRPCPath), api.AuthHeader(cfg.SectorManager.Token))
	if err != nil {
		return fmt.Errorf("sector manager client for %s: %w", addr.URL(api.ManagerRPCPath), err)
	}
	api.ObserveCalls(d.rpc, d.rec.ManagerCall)
	localIP, err := localIPToward(addr.DialAddr())
	if err != nil {
		return err
	}
	if d.verifier, err = checkToken(ctx, d.rpc, cfg); err != nil {
		return err
	}
	if err := checkProofsAgainst(ctx, d.rpc, addr.URL(api.ManagerRPCPath)); err != nil {
		return err
	}
	attached, err := d.openAttached(ctx)
	if err != nil {
		return err
	}
	static, err := canonicalStaticTreeD(cfg.Processors.StaticTreeD)
	if err != nil {
		return err
	}
	locks := limit.NewLocks(cfg.Processors.ExtLocks)
	locks.ObserveWaits(d.rec.Waited)
	procs, closeProcs, err := setup.Build(ctx, cfg.Processors, locks, d.rec.Restarted)
	if err != nil {
		return err
	}
	d.closeProcs = closeProcs
	if d.listener, err = net.Listen("tcp", cfg.AdminListenAddr()); err != nil {
		return fmt.Errorf("admin api: listen on %s (worker.rpc_server.host/port): %w", cfg.AdminListenAddr(), err)
	}
	d.info = workerInfo(cfg.Worker.Name, localIP, d.listener.Addr())
	limits := limit.NewStagePool(cfg.Processors.Limitation)
	limits.ObserveWaits(d.rec.Waited)
	env := &sealing.Env{RPC: d.rpc, Procs: procs, Limits: limits, Attached: attached, Instance: d.info.Name,
		StaticTreeD: static, Observer: d.rec}
	if cfg.Sealing.EnableDeals {
		// Only the global [sealing].enable_deals builds the piece store (spec/worker.md §10.2).
		env.Pieces = piecestore.New(addr.Origin(), cfg.SectorManager.Token, cfg.SectorManager.PieceToken)
	}
	if err := d.openThreads(env); err != nil {
		return err
	}
	d.zeroMetrics(limits, locks)
	return d.openDrain(env)
}

// openDrain reads the drain mark of the sealing locations, so that a drained worker restarts
// drained, and has a change pinged to the manager at once.
func (d *Daemon) openDrain(env *sealing.Env) error {
	dbs := make([]*kvstore.DB, len(d.locs))
	for i, l := range d.locs {
		dbs[i] = l.DB
	}
	drain, err := sealing.OpenDrain(dbs...)
	if err != nil {
		return err
	}
	env.Drain, d.pool.Drain = drain, drain
	d.pingNow = make(chan struct{}, 1)
	d.pool.DrainChanged = func() {
		select {
		case d.pingNow <- struct{}{}:
		default:
		}
	}
	if drain.On() {
		d.log.Warnw("worker is drained: threads finish their sectors and take no new one (venus-worker worker undrain)")
	}
	return nil
}

// localIPToward is the local address this host uses to reach the manager: the worker's default
// name and the IP in its dest.
func localIPToward(managerAddr string) (net.IP, error) {
	conn, err := net.DialTimeout("tcp", managerAddr, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("sector manager unreachable at %s (sector_manager.rpc_client.addr): %w", managerAddr, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.TCPAddr).IP, nil
}

func workerInfo(name string, localIP net.IP, listen net.Addr) api.WorkerInfo {
	if name == "" {
		name = localIP.String()
	}
	port := listen.(*net.TCPAddr).Port
	return api.WorkerInfo{Name: name, Dest: net.JoinHostPort(localIP.String(), strconv.Itoa(port)), Version: version.String()}
}

// checkProofsAgainst enforces the safety rule of mock proofs: they may only ever reach a manager
// whose chain is mocked. A manager that cannot say (the original has no Version) is not a mock.
func checkProofsAgainst(ctx context.Context, rpc *api.ManagerClient, endpoint string) error {
	if version.ProofsBackend != "mock" {
		return nil
	}
	v, err := rpc.Version(ctx)
	if err == nil && api.IsMockManager(v) {
		return nil
	}
	why := fmt.Sprintf("it reports %q", v)
	if err != nil {
		why = fmt.Sprintf("it cannot tell its chain (Venus.Version: %v)", err)
	}
	return fmt.Errorf("this venus-worker is a default build with mock proofs, which must never reach a real chain, "+
		"and the sector manager at %s is not a mock: %s; build the worker with `make ffi` to seal for real, "+
		"or point sector_manager.rpc_client.addr at `venus-sector-manager mock`", endpoint, why)
}

// openAttached opens the persist stores and checks that the manager knows each of them.
func (d *Daemon) openAttached(ctx context.Context) (*store.AttachedSet, error) {
	var stores []*store.Attached
	for _, a := range d.cfg.AttachedStores() {
		st, err := store.OpenAttached(a.Location, a.Name, a.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("attached store %s: %w", a.Location, err)
		}
		stores = append(stores, st)
	}
	set, err := store.NewAttachedSet(stores)
	if err != nil {
		return nil, err
	}
	for _, st := range set.All() {
		info, err := d.rpc.StoreBasicInfo(ctx, st.Name)
		if err != nil {
			return nil, fmt.Errorf("store basic info of instance %s: %w", st.Name, err)
		}
		if info == nil {
			return nil, fmt.Errorf("store basic info of instance %s not found in venus-sector-manager", st.Name)
		}
	}
	return set, nil
}

func canonicalStaticTreeD(in map[abi.SectorSize]string) (map[abi.SectorSize]string, error) {
	out := make(map[abi.SectorSize]string, len(in))
	for size, p := range in {
		abs, err := filepath.Abs(p)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, fmt.Errorf("processors.static_tree_d.%s: %w (generate it with `venus-worker generator tree-d`)", size.ShortString(), err)
		}
		out[size] = abs
	}
	return out, nil
}

// openThreads opens every sealing location; a location listed twice runs one thread.
func (d *Daemon) openThreads(env *sealing.Env) error {
	d.pool = &sealing.Pool{}
	seen := map[string]bool{}
	for _, tc := range d.cfg.Threads() {
		loc, err := store.OpenLocation(tc.Location)
		if err != nil {
			return fmt.Errorf("sealing_thread[%d]: %w", tc.Index, err)
		}
		if seen[loc.Root] {
			d.log.Warnw("duplicate sealing location skipped", "location", loc.Root)
			loc.Close()
			continue
		}
		seen[loc.Root] = true
		d.locs = append(d.locs, loc)
		t := sealing.NewThread(len(d.pool.Threads), tc.Plan, tc.Sealing, loc, env, logging.Logger("sealing"))
		d.pool.Threads = append(d.pool.Threads, t)
	}
	return nil
}

// zeroMetrics starts at zero the series of what this worker may report.
func (d *Daemon) zeroMetrics(limits, locks *limit.Pool) {
	k := telemetry.Known{Levels: sealing.Levels(), ExtStages: setup.ExternalStages, Limitations: limits.Names(),
		Stages: []string{processor.StageTreeD, sealing.StageAddPiece, processor.StagePC1, processor.StagePC2,
			processor.StageC1, processor.StageC2, processor.StageTransfer}}
	for kind, names := range locks.Names() {
		k.Limitations[kind] = append(k.Limitations[kind], names...)
	}
	for _, t := range d.pool.Threads {
		if !slices.Contains(k.Plans, t.Plan) {
			k.Plans = append(k.Plans, t.Plan)
		}
	}
	d.rec.Zero(k)
}

// threadSamples is every thread as a scrape shows it.
func (d *Daemon) threadSamples() []telemetry.Thread {
	if d.pool == nil {
		return nil
	}
	return telemetry.ThreadsOf(d.pool)
}

// AdminAddr is where the admin API listens (useful when the config asked for port 0).
func (d *Daemon) AdminAddr() string { return d.listener.Addr().String() }

// Info is the name and dest the worker pings with.
func (d *Daemon) Info() api.WorkerInfo { return d.info }

// Pool gives access to the sealing threads.
func (d *Daemon) Pool() *sealing.Pool { return d.pool }

// Run serves until ctx ends, then stops every module and releases the locations.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	srv := adminServer(d.adminHandler())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(api.LimitListener(d.listener, adminMaxConns)) }()
	d.log.Infow("admin api listening", "addr", d.listener.Addr().String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.pool.Run(ctx)
	}()
	go d.pingLoop(ctx)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("admin api stopped: %w", err)
		cancel()
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), shutdownTimeout)
	defer stop()
	if e := srv.Shutdown(shutdownCtx); e != nil && !errors.Is(e, http.ErrServerClosed) {
		d.log.Warnw("admin api shutdown", "err", e)
	}
	<-done
	d.log.Info("worker stopped")
	return err
}

// Limits of the admin server: its calls are small and few (an operator, the manager's proxy),
// so a slow or flooding client is cut short.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminReadTimeout       = 30 * time.Second
	adminIdleTimeout       = 2 * time.Minute
	adminMaxConns          = 64
)

func adminServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: adminReadHeaderTimeout, ReadTimeout: adminReadTimeout, IdleTimeout: adminIdleTimeout}
}

// pingLoop tells the manager about this worker every ping_interval and right after a drain
// change; the first ping comes one interval after start, and failures are only logged.
func (d *Daemon) pingLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.Worker.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.pingNow:
		}
		info := d.info
		info.Summary = d.pool.Summary()
		info.Drained = d.pool.Drained()
		if err := d.rpc.WorkerPing(ctx, info); err != nil && ctx.Err() == nil {
			d.log.Warnw("worker ping", "err", err)
		}
	}
}

func (d *Daemon) close() {
	if d.listener != nil {
		d.listener.Close()
	}
	if d.closeProcs != nil {
		d.closeProcs.Close()
		d.closeProcs = nil
	}
	for _, l := range d.locs {
		l.Close()
	}
	d.locs = nil
	if d.closeRPC != nil {
		d.closeRPC()
		d.closeRPC = nil
	}
}
