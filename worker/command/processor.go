package command

import (
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/setup"
)

// stageConsumer is the protocol loop of a stage a worker may move into a child process, served
// by the built-in implementation. There is no c1 consumer: C1 always runs in the worker.
func stageConsumer(stage string) (serve func(in io.Reader, out io.Writer) error, ok bool) {
	set := setup.InProcess()
	switch stage {
	case processor.StageTreeD:
		return serveWith(stage, set.TreeD), true
	case processor.StagePC1:
		return serveWith(stage, set.PC1), true
	case processor.StagePC2:
		return serveWith(stage, set.PC2), true
	case processor.StageC2:
		return serveWith(stage, set.C2), true
	case processor.StageSnapEncode:
		return serveWith(stage, set.SnapEncode), true
	case processor.StageSnapProve:
		return serveWith(stage, set.SnapProve), true
	case processor.StageTransfer:
		return serveWith(stage, set.Transfer), true
	case postprover.StageWindowPoSt:
		return serveWith[postprover.PoStTask, postprover.WindowPoStOutput](stage, postprover.WindowStage{Prover: postprover.DefaultProver()}), true
	case postprover.StageWinningPoSt:
		return serveWith[postprover.PoStTask, postprover.WinningPoStOutput](stage, postprover.WinningStage{Prover: postprover.DefaultProver()}), true
	}
	return nil, false
}

func serveWith[I, O any](stage string, impl processor.Processor[I, O]) func(io.Reader, io.Writer) error {
	return func(in io.Reader, out io.Writer) error { return extproc.Serve(stage, impl, in, out) }
}

// consumerStages is the order the subcommands are listed in.
var consumerStages = []string{
	processor.StageTreeD, processor.StagePC1, processor.StagePC2, processor.StageC2,
	processor.StageSnapEncode, processor.StageSnapProve, processor.StageTransfer,
	// Served for venus-sector-manager's ext provers; the worker never spawns them.
	postprover.StageWindowPoSt, postprover.StageWinningPoSt,
}

// ProcessorCmd is `venus-worker processor <stage>`: the consumer side of the external processor
// protocol, which the daemon spawns for [[processors.<stage>]] tables without a bin.
var ProcessorCmd = &cli.Command{
	Name:        "processor",
	Usage:       "run a stage as an external processor (JSON lines on stdin/stdout; spawned by the daemon)",
	Subcommands: consumerCommands(),
}

func consumerCommands() []*cli.Command {
	cmds := make([]*cli.Command, 0, len(consumerStages))
	for _, stage := range consumerStages {
		cmds = append(cmds, &cli.Command{
			Name:  stage,
			Usage: fmt.Sprintf("serve %s requests with the built-in implementation", stage),
			Action: func(*cli.Context) error {
				serve, _ := stageConsumer(stage)
				return serve(os.Stdin, os.Stdout)
			},
		})
	}
	return cmds
}
