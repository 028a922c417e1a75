// Package setup builds the processors a worker seals with from [processors]: the built-in
// implementation of each stage, replaced by external child processes for the stages that have
// [[processors.<stage>]] tables.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/limit"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// ExternalStages are the stages that can run in child processes. C1 and the in-process snap
// helpers (vanilla proofs, verification) always run in the worker.
var ExternalStages = []string{
	processor.StageTreeD, processor.StagePC1, processor.StagePC2, processor.StageC2,
	processor.StageSnapEncode, processor.StageSnapProve, processor.StageTransfer,
}

// Build spawns the external processors of cfg, waiting for each to be ready, and returns the
// full set. locks is the [processors.ext_locks] pool; restarted, if not nil, is told of every
// restart of a child that exited. Closing the returned Closer kills the children; on error,
// those already started are killed before Build returns.
func Build(ctx context.Context, cfg config.Processors, locks *limit.Pool, restarted func(stage string)) (processor.Set, io.Closer, error) {
	if err := checkStages(cfg.Ext); err != nil {
		return processor.Set{}, nil, err
	}
	set := InProcess()
	b := &builder{ctx: ctx, cfg: cfg, locks: locks, restarted: restarted}
	err := errors.Join(
		external(b, processor.StageTreeD, &set.TreeD),
		external(b, processor.StagePC1, &set.PC1),
		external(b, processor.StagePC2, &set.PC2),
		external(b, processor.StageC2, &set.C2),
		external(b, processor.StageSnapEncode, &set.SnapEncode),
		external(b, processor.StageSnapProve, &set.SnapProve),
		external(b, processor.StageTransfer, &set.Transfer),
	)
	if err != nil {
		_ = b.closers.Close()
		return processor.Set{}, nil, err
	}
	return set, b.closers, nil
}

func checkStages(exts map[string][]config.ExtProcessor) error {
	stages := make([]string, 0, len(exts))
	for stage := range exts {
		stages = append(stages, stage)
	}
	sort.Strings(stages)
	for _, stage := range stages {
		if !slices.Contains(ExternalStages, stage) {
			return fmt.Errorf("processors.%s: this stage cannot run as an external processor (external stages: %v)", stage, ExternalStages)
		}
	}
	return nil
}

type builder struct {
	ctx       context.Context
	cfg       config.Processors
	locks     *limit.Pool
	restarted func(stage string)
	closers   closers
	failed    bool
}

// external replaces *dst by the stage's external processors when the config has any. Once one
// stage failed, the later ones are not started: start-up is aborting anyway.
func external[I, O any](b *builder, stage string, dst *processor.Processor[I, O]) error {
	entries, ok := b.cfg.Ext[stage]
	if !ok || b.failed {
		return nil
	}
	p, err := extproc.NewProducer[I, O](b.ctx, stage, entries, b.locks, b.restarted)
	if err != nil {
		b.failed = true
		return err
	}
	*dst = p
	b.closers = append(b.closers, p)
	return nil
}

// closers closes every producer, the last started first.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range slices.Backward(cs) {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
