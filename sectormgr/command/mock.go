package command

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/dashboard"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// onListening is told the bound address once the server listens; tests use it to find the port.
var onListening = func(net.Addr) {}

func mockCommand() *cli.Command {
	return &cli.Command{
		Name:  "mock",
		Usage: "run a manager with a mocked chain (for tests and laptops); state in memory, or under --home",
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "miner", Required: true, Usage: "actor id of the mocked miner, e.g. 10000"},
			&cli.StringFlag{Name: "sector-size", Required: true, Usage: "sector size: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB"},
			&cli.StringFlag{Name: "listen", Usage: "address of the rpc server (default " + server.DefaultOpenListen +
				" without --home, " + server.DefaultListen + " with it)"},
			&cli.Uint64Flag{Name: "max-sectors", Usage: "allocate no sector number above N, so sealing runs down and stops (tests, soaks; default 0: no limit)"},
			&cli.StringFlag{Name: "pieces-dir", Usage: "hand out deals: every regular file in this directory is a deal payload " +
				"(deal ids 1, 2, … in file name order), served to workers at /piecestore/<piece cid> (default: no deals, every sector is CC)"},
			orphanTimeoutFlag(),
			&cli.DurationFlag{Name: "seed-delay", Usage: "make every sector wait this long for its seed, as a chain does (e.g. 10s; default: no wait)"},
			&cli.StringFlag{Name: flagHome, Usage: "keep sector states, numbers and the worker registry in <home>/meta, " +
				"so a restart loses nothing, and require tokens (secret <home>/jwt-secret, admin token <home>/token) " +
				"(default: in memory, no auth; the root --home counts only when given)"},
			&cli.BoolFlag{Name: flagPoster, Usage: "prove the sealed sectors' WindowPoSt deadlines on the simulated chain " +
				"(needs --persist-store for each worker's attached store; see --epoch-duration)"},
			&cli.DurationFlag{Name: "epoch-duration", Value: time.Second, Usage: "with --poster or --seed-delay: mine an epoch this often " +
				"(a deadline is 60 epochs; e.g. 100ms shows a whole proving period in under five minutes)"},
			&cli.StringSliceFlag{Name: "persist-store", Usage: "NAME=PATH of a worker's attached store (its [[attached]] name and location), " +
				"repeatable: the manager then knows only these stores, as [[Common.PersistStores]] makes the daemon, and checks the files there"},
			&cli.BoolFlag{Name: flagAllowWorkersWithoutToken, Usage: "with --home: accept the workers' sealing calls (Venus.*, write) " +
				"without a token, for workers that have none yet"},
		},
		Action: runMock,
	}
}

func runMock(c *cli.Context) error {
	miner := c.Uint64("miner")
	if miner == 0 {
		return fmt.Errorf("invalid --miner 0: want the miner's actor id, e.g. 10000")
	}
	sizeFlag := c.String("sector-size")
	size, _, err := api.ParseSectorSize(sizeFlag)
	if err != nil {
		return fmt.Errorf("invalid --sector-size %q: %w", sizeFlag, err)
	}

	home, err := mockHome(c)
	if err != nil {
		return err
	}
	authOpts, ownToken, err := managerAuth(c, home)
	if err != nil {
		return err
	}
	var opts []mock.Option
	if d := c.Duration("seed-delay"); d > 0 {
		opts = append(opts, mock.WithSeedDelay(d))
	}
	if n := c.Uint64("max-sectors"); n > 0 {
		opts = append(opts, mock.WithMaxSectors(n))
	}
	if dir := c.String("pieces-dir"); dir != "" {
		opts = append(opts, mock.WithPiecesDir(dir))
	}
	opts = append(opts, mock.WithOrphanTimeout(c.Duration(flagOrphanTimeout)))
	postOpts, err := mockPoStOptions(c)
	if err != nil {
		return err
	}
	opts = append(opts, postOpts...)
	if home != "" {
		db, err := statedb.OpenHome(home)
		if err != nil {
			return err
		}
		defer db.Close()
		opts = append(opts, mock.WithDB(db), mock.WithHome(home))
		log.Infow("mock state is kept in the home", "home", home)
	} else {
		log.Infow("mock state is kept in memory and lost at exit (pass --home <dir> to keep it)")
	}

	impl, err := mock.New(abi.ActorID(miner), size, opts...)
	if err != nil {
		if dir := c.String("pieces-dir"); dir != "" {
			return fmt.Errorf("invalid --pieces-dir %s: %w", dir, err)
		}
		return err
	}
	defer impl.Close()
	impl.SetWorkerToken(ownToken)
	addr, warning := mockListen(c.String("listen"), home)
	if warning != "" {
		log.Warn(warning)
	}
	ln, err := server.Listen(addr)
	if err != nil {
		return err
	}
	log.Infow("mock manager running", "miner", miner, "sector-size", sizeFlag,
		"proof-type", impl.ProofType(), "addr", ln.Addr().String())
	onListening(ln.Addr())
	announcePages(ln.Addr())

	err = server.Serve(c.Context, ln, server.New(impl, append(authOpts, server.WithHandler("/piecestore/", impl.PieceStoreHandler()), server.WithPage(dashboard.Handler()), server.WithMetrics(metrics.NewRegistry()))...))
	log.Info("stop application")
	return err
}

// mockPoStOptions are the options of --poster, --epoch-duration and --persist-store.
func mockPoStOptions(c *cli.Context) ([]mock.Option, error) {
	var opts []mock.Option
	epoch := c.Duration("epoch-duration")
	if epoch <= 0 {
		return nil, fmt.Errorf("invalid --epoch-duration %s: want a positive duration, e.g. 1s or 100ms", epoch)
	}
	if len(c.StringSlice("persist-store")) > 0 {
		stores, err := parsePersistStores(c.StringSlice("persist-store"))
		if err != nil {
			return nil, err
		}
		opts = append(opts, mock.WithPersistStores(stores))
	}
	if c.Bool(flagPoster) {
		if len(c.StringSlice("persist-store")) == 0 {
			return nil, fmt.Errorf("--poster needs the workers' attached stores to check the sealed files: add --persist-store NAME=PATH for each")
		}
		opts = append(opts, mock.WithPoster(epoch))
	} else if c.IsSet("epoch-duration") {
		opts = append(opts, mock.WithEpoch(epoch))
	}
	return opts, nil
}

// parsePersistStores reads NAME=PATH values of --persist-store.
func parsePersistStores(values []string) ([]config.PersistStoreConfig, error) {
	out := make([]config.PersistStoreConfig, 0, len(values))
	for _, v := range values {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("invalid --persist-store %q: want NAME=PATH, the name and location of a worker's [[attached]] store", v)
		}
		out = append(out, config.PersistStoreConfig{Name: name, Path: path})
	}
	return out, nil
}

// mockListen is the address the mock listens on: addr (its --listen), else all interfaces when a
// home turns auth on and loopback when none does; with a warning to log when an open mock is
// told to listen off loopback.
func mockListen(addr, home string) (listen, warning string) {
	switch {
	case addr == "" && home != "":
		return server.DefaultListen, ""
	case addr == "":
		return server.DefaultOpenListen, ""
	case home == "":
		return addr, server.OpenListenWarning(addr)
	}
	return addr, ""
}

// mockHome is where the mock keeps its state, "" for memory: mock --home, else the root --home
// only when it was given (its default ~/.venus-sector-manager belongs to the daemon; the mock
// stays a laptop tool that leaves nothing behind unless asked).
func mockHome(c *cli.Context) (string, error) {
	home := c.String(flagHome)
	for _, parent := range c.Lineage()[1:] {
		if home == "" && parent.IsSet(flagHome) {
			home = parent.String(flagHome)
		}
	}
	if home == "" {
		return "", nil
	}
	return expandHome(home)
}

// expandHome replaces a leading ~ with the user's home directory.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", path, err)
	}
	return filepath.Join(dir, strings.TrimPrefix(path, "~")), nil
}

// announcePages logs where an operator opens the dashboard and where Prometheus scrapes.
func announcePages(addr net.Addr) {
	base := "http://" + pageHost(addr)
	log.Infow("dashboard at "+base+"/ and metrics at "+base+"/debug/metrics", "dashboard", base+"/", "metrics", base+"/debug/metrics")
}

// pageHost is addr as a browser reaches it: a wildcard address becomes this machine's loopback.
func pageHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}
