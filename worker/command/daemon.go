package command

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/daemon"
)

var configFlag = &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "path to the worker's TOML config", Required: true}

var daemonCmd = &cli.Command{
	Name:  "daemon",
	Usage: "run the sealing worker",
	Flags: []cli.Flag{
		configFlag,
		&cli.StringFlag{Name: "api", Usage: "sealer api addr (accepted and ignored, as in the original: the address comes from the config)"},
	},
	Action: func(cctx *cli.Context) error {
		log := logging.Logger("main")
		cfg, err := config.Load(cctx.String("config"))
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cctx.Context, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
		defer stop()
		d, err := daemon.New(ctx, cfg)
		if err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			log.Info("captured signal, stopping")
		}()
		return d.Run(ctx)
	},
}

// background is the context of commands that have no cli context (tests call Main directly).
func background(cctx *cli.Context) context.Context {
	if cctx.Context != nil {
		return cctx.Context
	}
	return context.Background()
}
