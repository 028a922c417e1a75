package sealing

import (
	"context"
	"fmt"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/progress"
)

// Event is what a step produced: its kind selects the next state, apply writes its data into the job.
type Event struct {
	Kind  EventKind
	To    State // EvSetState only
	apply func(r *Record)
}

func event(kind EventKind, apply func(r *Record)) *Event {
	return &Event{Kind: kind, apply: apply}
}

// planner is a plan's transition table and the handlers of its states.
type planner interface {
	name() string
	next(from State, ev EventKind) (State, bool)
	// handle runs the step of the job's current state; a nil event and nil failure means the job is done.
	handle(j *job) (*Event, *Failure)
}

func plannerFor(plan string) (planner, error) {
	switch plan {
	case "", "sealer":
		return sealer{sealerTable}, nil
	case "snapup":
		return snapup{snapupTable}, nil
	default:
		return nil, fmt.Errorf("unknown plan %q (want sealer or snapup)", plan)
	}
}

// job is a thread's current sector and what it needs to advance it.
type job struct {
	ctx     context.Context
	t       *Thread
	rec     *Record
	planner planner
	log     *zap.SugaredLogger
}

func (j *job) refreshLogger() {
	j.log = j.t.log
	if id := j.rec.SectorID(); id != nil {
		j.log = j.log.With("sector", api.FormatSectorID(*id))
	}
}

// apply moves the job by one event, persists it, and only then reports the transition.
func (j *job) apply(ev *Event) *Failure {
	if ev == nil {
		return nil
	}
	prev := j.rec.State
	switch ev.Kind {
	case EvRetry:
		return j.t.Ctrl.sleep(j.ctx, j.t.Opts.RecoverInterval)
	case EvSetState:
		if ev.To == prev {
			return crit("state unchanged, may enter an infinite loop")
		}
		j.rec.State = ev.To
	default:
		next, ok := j.planner.next(prev, ev.Kind)
		if !ok {
			return crit("unexpected event %s for state %s", ev.Kind, prev)
		}
		if ev.apply != nil {
			ev.apply(j.rec)
		}
		j.rec.State = next
		// A step that succeeded proves the sector healthy again: the retry budget starts over.
		j.rec.Retry = 0
	}
	j.rec.PrevState = &prev
	if err := saveRecord(j.t.Loc.DB, j.rec); err != nil {
		return crit("%w", err)
	}
	j.t.env.Observer.StateLeft(j.t.Plan, prev.String(), j.t.Ctrl.timeInState())
	j.refreshLogger()
	j.t.Ctrl.setJob(j.rec.SectorID(), j.rec.State)
	j.log.Infow("state changed", "prev", prev, "next", j.rec.State, "event", ev.Kind)
	j.report(prev, j.rec.State, ev.Kind.String(), nil)
	return nil
}

// report tells the manager about a transition or a failure; errors are only logged because the
// job's truth is the local record, not the report.
func (j *job) report(prev, next State, ev string, f *Failure) {
	id := j.rec.SectorID()
	if id == nil {
		return
	}
	req := api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: j.t.env.Instance, Location: j.t.Loc.Root},
		StateChange: api.SectorStateChange{Prev: prev.String(), Next: next.String(), Event: ev},
	}
	if f != nil {
		req.Failure = &api.SectorFailure{Level: f.Level.String(), Desc: f.Err.Error()}
	}
	if j.t.rep != nil {
		j.t.rep.send(*id, req, j.log)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	if err := j.t.env.RPC.ReportState(ctx, *id, req); err != nil {
		j.log.Warnw("report state", "err", err)
	}
}

// rpcFailure classifies a manager call error: 11001 means the manager dropped the sector.
func rpcFailure(method string, err error) *Failure {
	if api.IsSectorStateNotFound(err) {
		return abort("from error code: sector state not found, with msg: %s", err.Error())
	}
	return temp("rpc %s: %w", method, err)
}

// sector returns the allocated sector, or an abort when a state needs one and the job has none.
func (j *job) sector() (api.AllocatedSector, *Failure) {
	if j.rec.Base == nil {
		return api.AllocatedSector{}, abort("base is required")
	}
	return j.rec.Base.Allocated, nil
}

func (j *job) sectorSize() (abi.SectorSize, *Failure) {
	s, f := j.sector()
	if f != nil {
		return 0, f
	}
	size, err := s.ProofType.SectorSize()
	if err != nil {
		return 0, abort("sector %s: %w", api.FormatSectorID(s.ID), err)
	}
	return size, nil
}

// counted runs fn with a progress counter of step in its context, which WorkerProgress shows
// while fn runs.
func (j *job) counted(step string, total int64, fn func(ctx context.Context) error) error {
	c := progress.New(step, total)
	j.t.Ctrl.setStep(c)
	defer j.t.Ctrl.setStep(nil)
	return fn(progress.With(j.ctx, c))
}

// stage holds a stage token for the duration of fn.
func (j *job) stage(name string, fn func() (*Event, *Failure)) (*Event, *Failure) {
	j.t.Ctrl.setActivity(waiting)
	defer j.t.Ctrl.setActivity(idle)
	release, err := j.t.env.Limits.Acquire(j.ctx, name)
	j.t.Ctrl.setActivity(running)
	if err != nil {
		if j.ctx.Err() != nil {
			return nil, interrupted()
		}
		return nil, crit("acquire %s token: %w", name, err)
	}
	defer release()
	return j.timed(name, fn)
}

// timed runs a processor stage and tells the observer how long it took.
func (j *job) timed(stage string, fn func() (*Event, *Failure)) (*Event, *Failure) {
	start := time.Now()
	ev, f := fn()
	if f == nil || !f.interrupt {
		j.t.env.Observer.StageDone(stage, time.Since(start), f != nil)
	}
	return ev, f
}
