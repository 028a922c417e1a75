package command

import (
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

var locFlag = &cli.StringSliceFlag{Name: "loc", Aliases: []string{"l"}, Required: true, Usage: "location to initialise (repeat for several)"}

var storeCmd = &cli.Command{
	Name:  "store",
	Usage: "initialise sealing and persist stores",
	Subcommands: []*cli.Command{
		{
			Name:  "sealing-init",
			Usage: "initialise sealing thread locations (data/, .holder, meta/)",
			Flags: []cli.Flag{locFlag},
			Action: func(cctx *cli.Context) error {
				initEach(locations(cctx), store.SealingInit)
				return nil
			},
		},
		{
			Name:  "file-init",
			Usage: "initialise persist (attached) store locations",
			Flags: []cli.Flag{locFlag},
			Action: func(cctx *cli.Context) error {
				initEach(locations(cctx), store.FileInit)
				return nil
			},
		},
	},
}

// locations accepts `-l a -l b` and, as the original does, `-l a b c`.
func locations(cctx *cli.Context) []string {
	return append(cctx.StringSlice("loc"), cctx.Args().Slice()...)
}

// initEach initialises every location, logging failures and going on, as the original does.
func initEach(locs []string, initFn func(string) error) {
	log := logging.Logger("store")
	for _, loc := range locs {
		if err := initFn(loc); err != nil {
			log.Errorw("failed to init store", "loc", loc, "err", err)
			continue
		}
		log.Infow("store initialized", "loc", loc)
	}
}
