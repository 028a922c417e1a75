package sealing

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// pausedLogTick is how often a paused thread says it is still waiting.
const pausedLogTick = 60 * time.Second

// reportTimeout bounds the fire-and-forget reports, so a slow manager never stalls sealing.
const reportTimeout = 30 * time.Second

// Limiter hands out stage tokens (tree_d, pc1, pc2, c1, c2, …) that cap how many threads run a
// stage at once. Release must be called when the step ends.
type Limiter interface {
	Acquire(ctx context.Context, stage string) (release func(), err error)
}

// Unlimited is the Limiter with no limits.
type Unlimited struct{}

func (Unlimited) Acquire(context.Context, string) (func(), error) { return func() {}, nil }

// Env is what every thread of a worker shares.
type Env struct {
	RPC         *api.ManagerClient
	Procs       processor.Set
	Attached    *store.AttachedSet
	Instance    string
	Limits      Limiter
	StaticTreeD map[abi.SectorSize]string // canonical path of a static tree_d file per sector size
	// Pieces writes deal pieces into a staged file; nil when deals are not enabled.
	Pieces PieceWriter
	// Drain keeps empty threads from taking a sector while it is on; nil is never drained.
	Drain *Drain
	// Observer is told what the threads do (the worker's metrics); nil records nothing.
	Observer Observer
}

// Observer is told what the threads do, for the worker's metrics. Its methods must be cheap and
// safe for concurrent use: threads call them on their way.
type Observer interface {
	StateLeft(plan, state string, took time.Duration)
	StageDone(stage string, took time.Duration, failed bool)
	Retried(plan, state string)
	Failed(level string)
	Persisted(bytes int64, took time.Duration)
}

// unobserved is the Observer of a worker without metrics.
type unobserved struct{}

func (unobserved) StateLeft(string, string, time.Duration) {}
func (unobserved) StageDone(string, time.Duration, bool)   {}
func (unobserved) Retried(string, string)                  {}
func (unobserved) Failed(string)                           {}
func (unobserved) Persisted(int64, time.Duration)          {}

// Thread is one sealing thread: a location, a plan, options, and the goroutine that runs them.
type Thread struct {
	Index int
	Plan  string
	Opts  config.Sealing
	Loc   *store.Location
	Ctrl  *Ctrl

	env *Env
	log *zap.SugaredLogger
	// rep sends the thread's state reports while it runs; nil outside Run (reports are then
	// sent synchronously).
	rep *reporter
}

// NewThread prepares a thread; Run starts it.
func NewThread(index int, plan string, opts config.Sealing, loc *store.Location, env *Env, log *zap.SugaredLogger) *Thread {
	if env.Limits == nil {
		env.Limits = Unlimited{}
	}
	if env.Observer == nil {
		env.Observer = unobserved{}
	}
	return &Thread{Index: index, Plan: plan, Opts: opts, Loc: loc, Ctrl: newCtrl(), env: env,
		log: log.With("thread", index, "location", loc.Root)}
}

// Run seals sector after sector until ctx ends. A job that fails anything but an abort pauses the
// thread until an operator resumes it.
func (t *Thread) Run(ctx context.Context) {
	t.log.Info("sealing thread started")
	defer t.log.Info("sealing thread stopped")
	t.rep = newReporter(t.env.RPC)
	defer func() { t.rep.close(); t.rep = nil }()
	var resumeTo *State
	paused := false
	for {
		if paused {
			to, ok := t.waitForResume(ctx)
			if !ok {
				return
			}
			resumeTo, paused = to, false
		}
		if ctx.Err() != nil {
			return
		}
		f := t.runJob(ctx, resumeTo)
		resumeTo = nil
		if ctx.Err() != nil {
			return
		}
		if f != nil && f.Level != Abort {
			t.pause(f)
			paused = true
			continue
		}
		t.Ctrl.setJob(nil, Empty)
		if f := t.Ctrl.sleep(ctx, t.Opts.SealInterval); f != nil {
			if ctx.Err() != nil {
				return
			}
			// A pause between two sectors takes effect at once; the next job starts on resume.
			t.pause(f)
			paused = true
		}
	}
}

func (t *Thread) pause(f *Failure) {
	t.flushReports()
	if f.interrupt {
		t.log.Info("sealing thread paused")
		t.Ctrl.setPaused(nil)
		return
	}
	msg := f.Error()
	t.log.Warnw("sealing thread paused on failure", "err", msg)
	t.Ctrl.setPaused(&msg)
}

// waitForResume blocks until resumed (ok, with an optional state) or ctx ends.
func (t *Thread) waitForResume(ctx context.Context) (*State, bool) {
	tick := time.NewTicker(pausedLogTick)
	defer tick.Stop()
	for {
		select {
		case to := <-t.Ctrl.resume:
			t.Ctrl.clearPaused()
			t.log.Infow("sealing thread resumed", "state", to)
			return to, true
		case <-ctx.Done():
			return nil, false
		case <-tick.C:
			t.log.Info("waiting for resume signal")
		}
	}
}

// runJob runs the thread's current job (loaded from its metadb, or a new one) until it finishes,
// aborts, or fails in a way that pauses the thread.
func (t *Thread) runJob(ctx context.Context, resumeTo *State) *Failure {
	j, f := t.openJob(ctx)
	if f != nil && f.unreadable && resumeTo != nil && *resumeTo == Aborted {
		// The operator gives up on a job this version cannot read: drop it and start clean.
		if f := t.dropUnreadableJob(ctx, f); f != nil {
			return f
		}
		resumeTo = nil
		j, f = t.openJob(ctx)
	}
	if f != nil {
		return f
	}
	var ev *Event
	if resumeTo != nil {
		ev = &Event{Kind: EvSetState, To: *resumeTo}
	}
	checked := false
	for {
		if f := j.apply(ev); f != nil {
			return j.settle(f)
		}
		if !checked {
			// Once per opening, in the state the job resumes in (a resume may have set it).
			checked = true
			if f := j.checkInputs(); f != nil {
				return j.settle(f)
			}
		}
		// Check point: the finished step is persisted above, so a pause here loses nothing.
		if ctx.Err() != nil || t.Ctrl.pausePending() {
			return interrupted()
		}
		t.Ctrl.setJob(j.rec.SectorID(), j.rec.State)
		next, f := j.planner.handle(j)
		if f == nil && next == nil {
			return j.finish()
		}
		if f == nil {
			ev = next
			continue
		}
		if ctx.Err() != nil {
			return interrupted()
		}
		if f.Level == Temporary {
			j.t.env.Observer.Failed(f.Level.String())
			if f = j.retry(f); f != nil {
				return j.settle(f)
			}
			ev = nil
			continue
		}
		return j.settle(f)
	}
}

// openJob loads the persisted job or starts a new one with the thread's plan. A record that
// cannot be read, or that names a plan this version does not know, is an unreadable failure,
// which resuming in Aborted clears.
func (t *Thread) openJob(ctx context.Context) (*job, *Failure) {
	rec, ok, err := loadRecord(t.Loc.DB)
	if err != nil {
		return nil, unreadable(err)
	}
	if !ok {
		// Leftovers of a job whose clean-up was cut short belong to no sector any more.
		if err := t.Loc.WipeData(); err != nil {
			return nil, crit("wipe data dir of %s: %w", t.Loc.Root, err)
		}
		if _, err := plannerFor(t.Plan); err != nil {
			return nil, crit("%w", err)
		}
		// Not persisted: no record and an Empty one mean the same, a new job of the thread's
		// plan. The first transition (Allocate) is persisted before anything reports it.
		rec = newRecord(t.Plan)
	}
	plan := "sealer"
	if rec.Plan != nil {
		plan = *rec.Plan
	}
	pl, err := plannerFor(plan)
	if err != nil {
		return nil, unreadable(fmt.Errorf("job record %s: %w", recordKey, err))
	}
	j := &job{ctx: ctx, t: t, rec: rec, planner: pl, log: t.log}
	j.refreshLogger()
	t.Ctrl.setJob(rec.SectorID(), rec.State)
	return j, nil
}

// unreadable is the failure of a job record the thread cannot run: critical, and the error says
// how to get rid of it.
func unreadable(err error) *Failure {
	f := crit("%w (resume with --state Aborted to drop the job and start a new one)", err)
	f.unreadable = true
	return f
}

// dropUnreadableJob clears a record openJob could not use, after telling the manager that its
// sector (when the record still names one) is aborted, so its deals are released.
func (t *Thread) dropUnreadableJob(ctx context.Context, cause *Failure) *Failure {
	raw, err := t.Loc.DB.Get(recordKey)
	if err != nil {
		return crit("read job record: %w", err)
	}
	if id := sectorIDOf(raw); id != nil {
		reason := "job record dropped by resume --state Aborted: " + cause.Err.Error()
		if f := t.reportAborted(ctx, *id, reason, t.log.With("sector", api.FormatSectorID(*id))); f != nil {
			return f
		}
	}
	t.log.Warnw("unreadable job record dropped", "err", cause.Err)
	if err := deleteRecord(t.Loc.DB); err != nil {
		return crit("%w", err)
	}
	if err := t.Loc.WipeData(); err != nil && !os.IsNotExist(err) {
		return crit("wipe data dir of %s: %w", t.Loc.Root, err)
	}
	t.Ctrl.setJob(nil, Empty)
	return nil
}

// reportAborted tells the manager that sector id is aborted, and retries every recover_interval
// until the manager acknowledges it: until then it still counts the sector online and holds its
// deals. After max_retries failures the thread pauses with the error; the job stays, so a resume
// (or a restart) reports again. A manager that does not know the sector (11001) has nothing to
// release, which counts as acknowledged.
func (t *Thread) reportAborted(ctx context.Context, id abi.SectorID, reason string, log *zap.SugaredLogger) *Failure {
	for attempt := uint32(0); ; attempt++ {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
		err := t.env.RPC.ReportAborted(callCtx, id, reason)
		cancel()
		if err == nil || api.IsSectorStateNotFound(err) {
			return nil
		}
		if attempt >= t.Opts.MaxRetries {
			return perm("the sector manager did not acknowledge the abort of %s after %d attempts: %w "+
				"(the job stays; resume to report it again)", api.FormatSectorID(id), attempt+1, err)
		}
		log.Warnw("report aborted failed, will retry", "err", err, "retry", attempt+1, "max_retries", t.Opts.MaxRetries)
		if f := t.Ctrl.sleep(ctx, t.Opts.RecoverInterval); f != nil {
			return f
		}
	}
}

// retry handles a temporary failure: wait and run the step again, or give up after max_retries.
func (j *job) retry(f *Failure) *Failure {
	j.report(j.rec.State, j.rec.State, "None", f)
	if j.rec.Retry >= j.t.Opts.MaxRetries {
		j.rec.Retry = 0
		if err := saveRecord(j.t.Loc.DB, j.rec); err != nil {
			return crit("%w", err)
		}
		return &Failure{Level: Permanent, Err: fmt.Errorf("gave up after %d temporary failures: %w", j.t.Opts.MaxRetries, f.Err)}
	}
	j.rec.Retry++
	if err := saveRecord(j.t.Loc.DB, j.rec); err != nil {
		return crit("%w", err)
	}
	j.t.env.Observer.Retried(j.t.Plan, j.rec.State.String())
	j.log.Warnw("temporary failure, will retry", "err", f.Err, "retry", j.rec.Retry, "max_retries", j.t.Opts.MaxRetries)
	return j.t.Ctrl.sleep(j.ctx, j.t.Opts.RecoverInterval)
}

// settle ends a job that failed: aborts drop the sector, anything else is reported and returned so
// the thread pauses.
func (j *job) settle(f *Failure) *Failure {
	if f.interrupt {
		return f
	}
	j.t.env.Observer.Failed(f.Level.String())
	if f.Level != Abort {
		j.report(j.rec.State, j.rec.State, "None", f)
		j.t.flushReports()
		return f
	}
	j.log.Warnw("sector aborted", "reason", f.Err)
	j.report(j.rec.State, j.rec.State, "None", f)
	j.t.flushReports()
	if id := j.rec.SectorID(); id != nil {
		// The abort is persisted before it is reported: a thread stopped before the manager
		// acknowledges it reopens the job in Aborted and reports again.
		if err := j.markAborted(); err != nil {
			return crit("%w", err)
		}
		if pf := j.t.reportAborted(j.ctx, *id, f.Err.Error(), j.log); pf != nil {
			return pf
		}
	}
	if err := j.cleanUp(); err != nil {
		return crit("%w", err)
	}
	return f
}

// markAborted persists the job in Aborted.
func (j *job) markAborted() error {
	if j.rec.State == Aborted {
		return nil
	}
	prev := j.rec.State
	j.rec.State, j.rec.PrevState = Aborted, &prev
	if err := saveRecord(j.t.Loc.DB, j.rec); err != nil {
		return err
	}
	j.t.Ctrl.setJob(j.rec.SectorID(), j.rec.State)
	return nil
}

// finish ends a sealed sector; the Finished handler already told the manager.
func (j *job) finish() *Failure {
	j.log.Info("sector finished")
	if err := j.cleanUp(); err != nil {
		return crit("%w", err)
	}
	return nil
}

// cleanUp forgets the job before wiping its files: a crash in between leaves only stray files,
// which the next job wipes, never a record pointing at missing files.
func (j *job) cleanUp() error {
	if err := deleteRecord(j.t.Loc.DB); err != nil {
		return err
	}
	if err := j.t.Loc.WipeData(); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("wipe data dir of %s: %w", j.t.Loc.Root, err)
	}
	return nil
}
