// Command venus-sector-manager serves the Venus sealing API to workers (see sectormgr/command).
package main

import (
	"os"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/command"
)

func main() {
	os.Exit(command.Main(os.Args))
}
