// Package command is the command line of venus-sector-manager: the root flags and one file per
// subcommand (mock, and later daemon and util).
package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/version"
)

var log = logging.Logger("cmd")

// Networks are the accepted values of --net, each a set of chain parameters.
var Networks = []string{"mainnet", "integrationnet", "2k", "cali", "interop", "force", "butterfly"}

const (
	flagHome = "home"
	flagNet  = "net"
)

// App builds the venus-sector-manager command tree.
func App() *cli.App {
	return &cli.App{
		Name:    "venus-sector-manager",
		Usage:   "manage sealing sectors and the workers that seal them",
		Version: version.String(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagHome, Value: "~/.venus-sector-manager", Usage: "home directory of the manager"},
			&cli.StringFlag{Name: flagNet, Value: "mainnet", Usage: "network parameters: " + strings.Join(Networks, ", ")},
		},
		Before: checkNetwork,
		Commands: []*cli.Command{
			mockCommand(),
			daemonCommand(),
			simchainCommand(),
			utilCommand(),
			authCommand(),
		},
		// Errors are printed once, by run; without this cli would print some and call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func checkNetwork(c *cli.Context) error {
	if name := c.String(flagNet); !slices.Contains(Networks, name) {
		return fmt.Errorf("invalid network name %s", name)
	}
	return nil
}

// Main runs the command line with args (os.Args) and returns the process exit status: 0, or 1
// after printing "ERROR: <msg>" to stderr. SIGINT and SIGTERM stop a running command cleanly.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := App()
	app.Writer, app.ErrWriter = stdout, stderr
	if err := app.RunContext(ctx, args); err != nil {
		fmt.Fprintf(stderr, "ERROR: %s\n", err)
		return 1
	}
	return 0
}
