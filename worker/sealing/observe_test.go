package sealing

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/progress"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	states    []string
	stages    []string
	failures  []string
	retries   int
	persisted int64
}

func (o *recorder) StateLeft(plan, state string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.states = append(o.states, plan+"/"+state)
}

func (o *recorder) StageDone(stage string, _ time.Duration, failed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if failed {
		stage += "!"
	}
	o.stages = append(o.stages, stage)
}

func (o *recorder) Retried(string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries++
}

func (o *recorder) Failed(level string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures = append(o.failures, level)
}

func (o *recorder) Persisted(n int64, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.persisted += n
}

func (o *recorder) snapshot() (states, stages, failures []string, retries int, persisted int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.states), slices.Clone(o.stages), slices.Clone(o.failures), o.retries, o.persisted
}

// A sealed sector tells the observer every state it left and every stage it ran, in order, and
// the bytes its persist copied.
func TestObserverSeesOneSector(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	obs := &recorder{}
	r.env.Observer = obs
	r.start()
	r.waitFor("the sector to finish", func() bool { return fm.finalizedCount() == 1 })
	r.stop()

	states, stages, failures, retries, persisted := obs.snapshot()
	wantStages := []string{"add_piece", "tree_d", "pc1", "pc2", "transfer", "c1", "c2"}
	if !slices.Equal(stages, wantStages) {
		t.Errorf("stages = %v, want %v", stages, wantStages)
	}
	if len(states) < 10 || states[0] != "sealer/Empty" || !slices.Contains(states, "sealer/PC1Done") {
		t.Errorf("states left = %v", states)
	}
	if len(failures) != 0 || retries != 0 {
		t.Errorf("failures %v, retries %d on a clean sector", failures, retries)
	}
	if persisted < 2<<10 {
		t.Errorf("persisted %d bytes, want at least the 2KiB sealed file", persisted)
	}
}

// A temporary failure is counted as a failure and a retry; one that runs out of retries is
// counted again, as the permanent failure it becomes.
func TestObserverCountsRetriesAndFailures(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	obs := &recorder{}
	r.env.Observer = obs
	fm.waitSeed = func() (api.WaitSeedResp, error) { return api.WaitSeedResp{}, errors.New("manager down") }
	r.env.Procs.C2 = processor.Func[processor.C2Input, processor.C2Output](func(context.Context, processor.C2Input) (processor.C2Output, error) {
		return processor.C2Output{}, errors.New("never reached")
	})
	r.start()
	r.waitPaused()
	r.stop()
	_, stages, failures, retries, _ := obs.snapshot()
	want := []string{"Temporary", "Temporary", "Temporary", "Temporary", "Permanent"}
	if !slices.Equal(failures, want) || retries != 3 {
		t.Errorf("failures %v, retries %d; want %v and 3 (max_retries)", failures, retries, want)
	}
	if slices.Contains(stages, "c2") || slices.Contains(stages, "c2!") {
		t.Errorf("stages = %v: c2 ran without a seed", stages)
	}
}

// A stage that fails permanently is timed as an error.
func TestObserverTimesAFailedStage(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	obs := &recorder{}
	r.env.Observer = obs
	r.env.Procs.PC2 = processor.Func[processor.PC2Input, processor.PC2Output](func(context.Context, processor.PC2Input) (processor.PC2Output, error) {
		return processor.PC2Output{}, errors.New("gpu lost")
	})
	r.start()
	r.waitPaused()
	r.stop()
	_, stages, failures, _, _ := obs.snapshot()
	if !slices.Equal(stages, []string{"add_piece", "tree_d", "pc1", "pc2!"}) || !slices.Equal(failures, []string{"Permanent"}) {
		t.Errorf("stages %v, failures %v", stages, failures)
	}
}

// While tree_d runs, WorkerProgress shows its step, its total and the bytes it counted; the
// state's entry time stays that of the state.
func TestProgressOfALongStep(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	half, release := make(chan struct{}), make(chan struct{})
	builtinTreeD := r.env.Procs.TreeD
	r.env.Procs.TreeD = processor.Func[processor.TreeDInput, bool](func(ctx context.Context, in processor.TreeDInput) (bool, error) {
		progress.Adder(ctx)(1024)
		close(half)
		<-release
		return builtinTreeD.Process(ctx, in)
	})
	r.start()
	<-half
	p := r.thread.Ctrl.Progress(0)
	close(release)
	if p.Step == nil || *p.Step != "tree_d" || p.BytesTotal == nil || *p.BytesTotal != 2<<10 || p.BytesDone == nil || *p.BytesDone != 1024 {
		t.Errorf("progress during tree_d = %+v", p)
	}
	if p.State != "PieceAdded" || p.StateEnteredAt == nil || time.Since(*p.StateEnteredAt) > time.Minute {
		t.Errorf("progress state = %q since %v", p.State, p.StateEnteredAt)
	}
	r.waitFor("the sector to finish", func() bool { return fm.finalizedCount() == 1 })
	if p := r.thread.Ctrl.Progress(0); p.Step != nil || p.BytesDone != nil {
		t.Errorf("progress between steps = %+v", p)
	}
}
