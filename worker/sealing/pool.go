package sealing

import (
	"context"
	"errors"
	"sync"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Pool is all sealing threads of a worker, addressed by index as the admin API does.
type Pool struct {
	Threads []*Thread
	// Drain is the drain switch the threads obey (Env.Drain); nil: never drained.
	Drain *Drain
	// DrainChanged, when set, is called after a change of the drain (the daemon pings at once).
	DrainChanged func()
}

// Run starts every thread and returns when all have stopped (after ctx ends).
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range p.Threads {
		wg.Add(1)
		go func(t *Thread) {
			defer wg.Done()
			t.Run(ctx)
		}(t)
	}
	wg.Wait()
}

// List reports every thread in index order.
func (p *Pool) List() []api.WorkerThreadInfo {
	out := make([]api.WorkerThreadInfo, len(p.Threads))
	for i, t := range p.Threads {
		out[i] = t.Ctrl.Info(t.Index, t.Loc.Root)
	}
	return out
}

// Plans are the threads' plans, in index order.
func (p *Pool) Plans() []string {
	out := make([]string, len(p.Threads))
	for i, t := range p.Threads {
		out[i] = t.Plan
	}
	return out
}

// Progress reports where every thread stands in its state, in index order.
func (p *Pool) Progress() []api.ThreadProgress {
	out := make([]api.ThreadProgress, len(p.Threads))
	for i, t := range p.Threads {
		out[i] = t.Ctrl.Progress(t.Index)
	}
	return out
}

func (p *Pool) thread(index uint64) (*Thread, error) {
	if index >= uint64(len(p.Threads)) {
		return nil, api.InvalidParams("worker #%d not found", index)
	}
	return p.Threads[index], nil
}

// Pause queues a pause for a thread; false if one was already pending.
func (p *Pool) Pause(index uint64) (bool, error) {
	t, err := p.thread(index)
	if err != nil {
		return false, err
	}
	return t.Ctrl.RequestPause(), nil
}

// Resume wakes a paused thread, optionally moving its job to the named state first.
func (p *Pool) Resume(index uint64, setTo *string) (bool, error) {
	t, err := p.thread(index)
	if err != nil {
		return false, err
	}
	var to *State
	if setTo != nil {
		st, err := ParseState(*setTo)
		if err != nil {
			return false, api.InvalidParams("%s", err.Error())
		}
		to = &st
	}
	return t.Ctrl.RequestResume(to), nil
}

// Drained tells whether the worker takes no new sector.
func (p *Pool) Drained() bool { return p.Drain.On() }

// SetDrained turns the drain on or off once it is saved, and reports whether it changed.
func (p *Pool) SetDrained(on bool) (bool, error) {
	if p.Drain == nil {
		return false, errors.New("this worker has no drain switch")
	}
	changed, err := p.Drain.Set(on)
	if err != nil {
		return false, err
	}
	if changed && p.DrainChanged != nil {
		p.DrainChanged()
	}
	return changed, nil
}

// Summary counts threads for the manager's ping.
func (p *Pool) Summary() api.WorkerInfoSummary {
	s := api.WorkerInfoSummary{Threads: uint(len(p.Threads))}
	for _, t := range p.Threads {
		switch t.Ctrl.currentActivity() {
		case running:
			s.Running++
		case waiting:
			s.Waiting++
		}
	}
	for _, info := range p.List() {
		if info.SectorID == nil {
			s.Empty++
		}
		if info.Paused {
			s.Paused++
		}
		if info.LastError != nil {
			s.Errors++
		}
	}
	return s
}
