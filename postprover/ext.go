package postprover

import (
	"context"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/extproc"
)

// ExtProver sends the proofs to external processors (daemon run --ext-prover): WindowPoSt to
// the window_post children, WinningPoSt to the winning_post ones; a kind without children goes
// to Fallback, as the original does.
type ExtProver struct {
	Window   extproc.Processor[PoStTask, WindowPoStOutput]
	Winning  extproc.Processor[PoStTask, WinningPoStOutput]
	Fallback Prover
}

// Name tells where each kind goes.
func (p ExtProver) Name() string {
	where := func(ext bool) string {
		if ext {
			return "ext"
		}
		return p.Fallback.Name()
	}
	return fmt.Sprintf("window=%s,winning=%s", where(p.Window != nil), where(p.Winning != nil))
}

// GenerateWindowPoSt proves in a window_post child; the faults it reports fail the call as the
// built-in prover's do.
func (p ExtProver) GenerateWindowPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	if p.Window == nil {
		return p.Fallback.GenerateWindowPoSt(minerID, postProof, sectors, randomness)
	}
	task, err := taskOf(minerID, postProof, sectors, randomness)
	if err != nil {
		return nil, err
	}
	out, err := p.Window.Process(context.Background(), task)
	if err != nil {
		return nil, fmt.Errorf("window_post processor: %w", err)
	}
	if len(out.Faults) > 0 {
		return nil, &FaultyError{Sectors: out.Faults}
	}
	return postProofsOf(postProof, out.Proofs), nil
}

// GenerateWinningPoSt proves in a winning_post child.
func (p ExtProver) GenerateWinningPoSt(minerID abi.ActorID, postProof abi.RegisteredPoStProof, sectors []SectorToProve, randomness abi.PoStRandomness) ([]proof.PoStProof, error) {
	if p.Winning == nil {
		return p.Fallback.GenerateWinningPoSt(minerID, postProof, sectors, randomness)
	}
	task, err := taskOf(minerID, postProof, sectors, randomness)
	if err != nil {
		return nil, err
	}
	out, err := p.Winning.Process(context.Background(), task)
	if err != nil {
		return nil, fmt.Errorf("winning_post processor: %w", err)
	}
	return postProofsOf(postProof, out.Proofs), nil
}
