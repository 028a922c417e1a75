package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

// WorkerBin is the program an ext-prover.cfg entry without Bin runs, found next to the
// manager's binary, as the original does: `venus-worker processor <stage>`.
const WorkerBin = "venus-worker"

// extSpecs turns the [[WdPost]] or [[WinPost]] entries into child specs.
func extSpecs(section, stage string, entries []config.ExtProcessorConfig) ([]extproc.Spec, error) {
	out := make([]extproc.Spec, len(entries))
	for i, e := range entries {
		key := fmt.Sprintf("ext-prover.cfg [[%s]] %d", section, i)
		if e.Concurrent == 0 {
			return nil, fmt.Errorf("%s: Concurrent = 0: want 1 or more", key)
		}
		if e.Weight > 65535 {
			return nil, fmt.Errorf("%s: Weight = %d: want 1 to 65535", key, e.Weight)
		}
		concurrent := e.Concurrent
		s := extproc.Spec{Key: key, Stage: stage, Envs: e.Envs, Concurrent: &concurrent, Weight: uint16(max(e.Weight, 1)),
			StableWait: time.Duration(e.ReadyTimeoutSecs) * time.Second}
		if e.Bin != nil {
			s.Bin, s.Args = *e.Bin, e.Args
		} else {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("%s: find venus-worker next to this binary (or set Bin): %w", key, err)
			}
			s.Bin, s.Args = filepath.Join(filepath.Dir(exe), WorkerBin), []string{"processor", stage}
		}
		out[i] = s
	}
	return out, nil
}

// newExtProver starts the children of ext-prover.cfg in confDir (daemon run --ext-prover); the
// kind without entries stays with fallback. close kills the children; live is the file's
// config, which SIGUSR1 reloads.
func newExtProver(ctx context.Context, confDir string, fallback postprover.Prover) (_ postprover.Prover, closeAll func(), live *config.LiveExtProver, err error) {
	cfg, err := config.LoadExtProver(confDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(cfg.WdPost) == 0 && len(cfg.WinPost) == 0 {
		return nil, nil, nil, errors.New("--ext-prover: ext-prover.cfg has no [[WdPost]] or [[WinPost]] entry: uncomment one (daemon init writes the example) or run without --ext-prover")
	}
	p := postprover.ExtProver{Fallback: fallback}
	var closers []func() error
	closeAll = func() {
		for _, c := range closers {
			_ = c()
		}
	}
	if len(cfg.WdPost) > 0 {
		specs, err := extSpecs("WdPost", postprover.StageWindowPoSt, cfg.WdPost)
		if err != nil {
			return nil, nil, nil, err
		}
		w, err := extproc.NewProducer[postprover.PoStTask, postprover.WindowPoStOutput](ctx, postprover.StageWindowPoSt, specs, nil, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		p.Window = w
		closers = append(closers, w.Close)
	}
	if len(cfg.WinPost) > 0 {
		specs, err := extSpecs("WinPost", postprover.StageWinningPoSt, cfg.WinPost)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		w, err := extproc.NewProducer[postprover.PoStTask, postprover.WinningPoStOutput](ctx, postprover.StageWinningPoSt, specs, nil, nil)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		p.Winning = w
		closers = append(closers, w.Close)
	}
	log.Infow("ext provers started", "window_post", len(cfg.WdPost), "winning_post", len(cfg.WinPost), "prover", p.Name())
	return p, closeAll, config.NewLiveExtProver(confDir, cfg), nil
}
