package command

import (
	"fmt"
	"net"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// onListening is told the bound address once the server listens; tests use it to find the port.
var onListening = func(net.Addr) {}

func mockCommand() *cli.Command {
	return &cli.Command{
		Name:  "mock",
		Usage: "run a manager with a mocked chain and in-memory state (for tests and laptops)",
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "miner", Required: true, Usage: "actor id of the mocked miner, e.g. 10000"},
			&cli.StringFlag{Name: "sector-size", Required: true, Usage: "sector size: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB"},
			&cli.StringFlag{Name: "listen", Value: server.DefaultListen, Usage: "address of the rpc server"},
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

	impl, err := mock.New(abi.ActorID(miner), size)
	if err != nil {
		return err
	}
	ln, err := server.Listen(c.String("listen"))
	if err != nil {
		return err
	}
	log.Infow("mock manager running", "miner", miner, "sector-size", sizeFlag,
		"proof-type", impl.ProofType(), "addr", ln.Addr().String())
	onListening(ln.Addr())

	err = server.Serve(c.Context, ln, server.New(impl))
	log.Info("stop application")
	return err
}
