package command

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// simchainCommand serves the simulated chain the mock runs on as a stand-alone Lotus-compatible
// full node, so `daemon run` can be tried (and tested) end to end without a real network.
func simchainCommand() *cli.Command {
	return &cli.Command{
		Name:  "simchain",
		Usage: "serve a simulated chain as a Lotus full node (Filecoin.* at /rpc/v1), with mock proofs, to try daemon run against",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagListen, Value: "127.0.0.1:1234", Usage: "address of the node's rpc server"},
			&cli.Uint64Flag{Name: "miner", Required: true, Usage: "actor id of the simulated miner, e.g. 10000"},
			&cli.StringFlag{Name: "sector-size", Required: true, Usage: "sector size: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB"},
			&cli.DurationFlag{Name: "block-time", Value: time.Second, Usage: "one epoch is mined every block-time"},
			&cli.Int64Flag{Name: "challenge-delay", Value: 10, Usage: "PreCommitChallengeDelay in epochs (Filecoin: 150)"},
			&cli.IntFlag{Name: "network-version", Value: int(network.Version25), Usage: "network version of every epoch (17 or newer)"},
			&cli.StringFlag{Name: flagToken, Usage: "require this token as `Authorization: Bearer <token>` (default: no token)"},
			&cli.StringFlag{Name: "state-file", Usage: "keep the chain in this file, so a restart keeps it (default: in memory)"},
		},
		Action: runSimchain,
	}
}

func runSimchain(c *cli.Context) error {
	size, _, err := api.ParseSectorSize(c.String("sector-size"))
	if err != nil {
		return fmt.Errorf("invalid --sector-size %q: %w", c.String("sector-size"), err)
	}
	miner := abi.ActorID(c.Uint64("miner"))
	if miner == 0 {
		return fmt.Errorf("invalid --miner 0: want the miner's actor id, e.g. 10000")
	}
	blockTime := c.Duration("block-time")
	if blockTime <= 0 {
		return fmt.Errorf("invalid --block-time %s: want a positive duration such as 1s", blockTime)
	}
	nv := network.Version(c.Int("network-version"))
	if nv < network.Version17 {
		return fmt.Errorf("invalid --network-version %d: want 17 or newer (the manager sends PreCommitSectorBatch2)", nv)
	}
	stateFile := c.String("state-file")
	if stateFile != "" {
		if stateFile, err = filepath.Abs(stateFile); err != nil {
			return err
		}
	}
	ch, err := simchain.Open(simchain.Options{
		NetworkVersion:          nv,
		BlockDelaySecs:          uint64(max(1, blockTime/time.Second)),
		PreCommitChallengeDelay: abi.ChainEpoch(c.Int64("challenge-delay")),
		Token:                   c.String(flagToken),
		StateFile:               stateFile,
	})
	if err != nil {
		return err
	}
	defer ch.Close()
	// AddMiner keeps a miner that a state file already holds.
	if err := ch.AddMiner(simchain.MinerSpec{Actor: miner, SectorSize: size}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String(flagListen))
	if err != nil {
		return fmt.Errorf("listen on %q: %w (check --listen)", c.String(flagListen), err)
	}
	onListening(ln.Addr())
	tcp := ln.Addr().(*net.TCPAddr)
	fmt.Fprintf(c.App.Writer, "simulated chain (network %s, mock proofs) at http://%s%s\n", simchain.DefaultNetworkName, ln.Addr(), simchain.RPCPath)
	fmt.Fprintf(c.App.Writer, "put into sector-manager.cfg:\n[Common.API]\nChain = \"/ip4/%s/tcp/%d\"\n", tcp.IP, tcp.Port)
	fmt.Fprintf(c.App.Writer, "[[Miners]]\nActor = %d\n[Miners.Commitment.Pre]\nSender = %q\n[Miners.Commitment.Prove]\nSender = %q\n",
		miner, simchain.DefaultWorker(miner), simchain.DefaultWorker(miner))

	go func() {
		if err := ch.Run(c.Context, blockTime); err != nil && c.Context.Err() == nil {
			log.Errorw("simulated chain stopped mining", "err", err)
		}
	}()
	err = ch.Serve(c.Context, ln)
	log.Info("stop application")
	return err
}
