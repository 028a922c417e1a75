// Package command is the venus-worker command line: daemon, the local admin client (worker),
// store initialisation, and the generators and processor consumers added later.
package command

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/version"
)

// App builds the venus-worker CLI.
func App() *cli.App {
	return &cli.App{
		Name:    "venus-worker",
		Usage:   "sealing worker of a venus-cluster",
		Version: version.String(),
		Commands: []*cli.Command{
			daemonCmd,
			workerCmd,
			storeCmd,
			ProcessorCmd,
			generatorCmd,
		},
		HideHelpCommand: true,
	}
}

// Main runs the CLI and returns the process exit code: errors print one `Error: ...` line.
func Main(args []string) int {
	if err := App().Run(args); err != nil {
		var exit cli.ExitCoder
		if errors.As(err, &exit) && exit.Error() == "" {
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}
