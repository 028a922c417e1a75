package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/dashboard"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/manager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	flagConfDir          = "conf-dir"
	flagUnsafeMockProofs = "unsafe-mock-proofs"
	flagPoster           = "poster"
	flagWinningPoSt      = "miner"
	flagWarmup           = "warmup"
	flagExtProver        = "ext-prover"
)

// reloadDelay is how long the daemon waits after SIGUSR1 before it re-reads its config, as the
// original does (an editor may still be writing the file).
var reloadDelay = 10 * time.Second

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "the production manager: init writes the config, run serves it against a Lotus full node",
		Subcommands: []*cli.Command{
			{
				Name:   "init",
				Usage:  "write an example sector-manager.cfg and ext-prover.cfg into the home",
				Action: runDaemonInit,
			},
			{
				Name:  "run",
				Usage: "run the manager: sealing APIs for workers, commitments sent to the chain",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: flagListen, Value: server.DefaultListen, Usage: "address of the rpc server"},
					&cli.StringFlag{Name: flagConfDir, Usage: "read sector-manager.cfg from this directory instead of the home"},
					&cli.BoolFlag{Name: flagUnsafeMockProofs, Usage: "accept mock proofs on a network other than the simulated one " +
						"(devnets and tests only: such proofs never verify on a real chain)"},
					orphanTimeoutFlag(),
					&cli.BoolFlag{Name: flagPoster, Usage: "prove WindowPoSt: every deadline of every [[Miners]] entry with PoSt.Enabled"},
					&cli.BoolFlag{Name: flagWinningPoSt, Usage: "answer WinningPoSt: the proof requests of the gateways in [Common.API] Gateway, for every [[Miners]] entry with Proof.Enabled"},
					&cli.BoolFlag{Name: flagExtProver, Usage: "generate the PoSt proofs in the external processors of ext-prover.cfg ([[WdPost]], [[WinPost]]; default program: venus-worker processor <stage>)"},
					&cli.BoolFlag{Name: flagWarmup, Value: true, Usage: "with --miner, prove one sector at start-up and log how long it took"},
				},
				Action: runDaemon,
			},
		},
	}
}

func runDaemonInit(c *cli.Context) error {
	home, err := expandHome(c.String(flagHome))
	if err != nil {
		return err
	}
	return config.InitHome(home)
}

func runDaemon(c *cli.Context) error {
	home, err := expandHome(c.String(flagHome))
	if err != nil {
		return err
	}
	confDir := home
	if dir := c.String(flagConfDir); dir != "" {
		confDir = dir
	}
	cfg, err := config.Load(confDir)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if text, err := config.Encode(cfg); err == nil {
		log.Infof("Sector-manager initial cfg:\n%s", text)
	}
	live := config.NewLive(confDir, cfg)

	authOpts, ownToken, err := managerAuth(c, home)
	if err != nil {
		return err
	}
	db, err := statedb.OpenHome(home)
	if err != nil {
		return err
	}
	defer db.Close()

	ctx, stop := context.WithCancel(c.Context)
	defer stop()
	built, err := manager.Build(ctx, manager.BuildOptions{
		Config:           live,
		DB:               db,
		UnsafeMockProofs: c.Bool(flagUnsafeMockProofs),
		OrphanTimeout:    c.Duration(flagOrphanTimeout),
		Poster:           c.Bool(flagPoster),
		WinningPoSt:      c.Bool(flagWinningPoSt),
		Warmup:           c.Bool(flagWarmup),
		ExtProverDir:     extProverDir(c, confDir),
	})
	if err != nil {
		return err
	}
	defer built.Close()
	built.Manager.SetWorkerToken(ownToken)
	go reloadOnSIGUSR1(ctx, live, built.ExtProver)

	ln, err := server.Listen(c.String(flagListen))
	if err != nil {
		return err
	}
	onListening(ln.Addr())
	log.Infow("daemon running", "addr", ln.Addr().String(), "home", home, "conf-dir", confDir)
	announcePages(ln.Addr())
	opts := append(authOpts, server.WithHandler("/piecestore/", built.PieceStore), server.WithPage(dashboard.Handler()), server.WithMetrics(metrics.NewRegistry()))
	err = server.Serve(ctx, ln, server.New(built.Manager, opts...))
	log.Info("stop application")
	return err
}

// reloadOnSIGUSR1 re-reads the configs reloadDelay after each SIGUSR1.
func reloadOnSIGUSR1(ctx context.Context, live *config.Live, ext *config.LiveExtProver) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		log.Infof("SIGUSR1: reloading the config in %s", reloadDelay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(reloadDelay):
		}
		reloadConfigs(live, ext)
	}
}

// reloadConfigs swaps in each config file that reads and validates, and keeps the previous one
// of a file that does not. What is read on every use (the [[Miners]] settings) changes; endpoints,
// stores and the ext provers' children, started at start-up, stay as they are until the next
// start, as in the original.
func reloadConfigs(live *config.Live, ext *config.LiveExtProver) {
	if err := live.Reload(); err != nil {
		log.Errorw("config reload failed; the previous config stays in use", "err", err)
	} else if text, err := config.Encode(live.Get()); err == nil {
		log.Infof("Sector-manager reloaded cfg:\n%s", fmt.Sprint(text))
	}
	if ext == nil {
		return
	}
	if err := ext.Reload(); err != nil {
		log.Errorw("ext-prover.cfg reload failed; the previous one stays in use", "err", err)
		return
	}
	cfg := ext.Get()
	log.Infow("ext-prover.cfg reloaded; its processors change at the next start of daemon run",
		"window_post", len(cfg.WdPost), "winning_post", len(cfg.WinPost))
}

const flagOrphanTimeout = "orphan-timeout"

// orphanTimeoutFlag is the same flag on `daemon run` and `mock`.
func orphanTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: flagOrphanTimeout, Value: manager.DefaultOrphanTimeout,
		Usage: "abort a sector that no worker called about for this long after its allocation " +
			"(a worker killed before saving its job; `util sealer sectors list --orphans` shows them); 0: never"}
}

// extProverDir is where ext-prover.cfg is read with --ext-prover: beside sector-manager.cfg.
func extProverDir(c *cli.Context, confDir string) string {
	if !c.Bool(flagExtProver) {
		return ""
	}
	return confDir
}
