package main

import (
	"os"

	"github.com/ipfs-force-community/venus-cluster-go/worker/command"
)

func main() {
	os.Exit(command.Main(os.Args))
}
