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
				initEach(cctx.StringSlice("loc"), store.SealingInit)
				return nil
			},
		},
		{
			Name:  "file-init",
			Usage: "initialise persist (attached) store locations",
			Flags: []cli.Flag{locFlag},
			Action: func(cctx *cli.Context) error {
				initEach(cctx.StringSlice("loc"), store.FileInit)
				return nil
			},
		},
	},
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
