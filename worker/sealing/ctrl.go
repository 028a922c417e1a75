package sealing

import (
	"context"
	"sync"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/progress"
)

// Ctrl is a thread's control block, shared between the thread and the admin API.
type Ctrl struct {
	mu       sync.RWMutex
	pausedAt *time.Time
	jobID    *abi.SectorID
	state    State
	lastErr  *string
	activity activity
	// enteredAt is when the thread entered state (or took up its job at start-up).
	enteredAt time.Time
	// step counts the bytes of the long step under way; nil between steps.
	step *progress.Counter

	// pause holds at most one pending pause request; it is observed at the thread's check points.
	pause chan struct{}
	// resume is a rendezvous: a send succeeds only while the thread waits for it.
	resume chan *State
}

// activity is what a thread is doing inside a step, for the ping summary (damocles' Running and
// Waiting counts).
type activity int

const (
	idle activity = iota
	// waiting: blocked on a stage limit.
	waiting
	// running: a stage's processor is working.
	running
)

func (c *Ctrl) setActivity(a activity) {
	c.mu.Lock()
	c.activity = a
	c.mu.Unlock()
}

func (c *Ctrl) currentActivity() activity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.activity
}

func newCtrl() *Ctrl {
	return &Ctrl{pause: make(chan struct{}, 1), resume: make(chan *State)}
}

// RequestPause queues a pause; false means one was already pending.
func (c *Ctrl) RequestPause() bool {
	select {
	case c.pause <- struct{}{}:
		return true
	default:
		return false
	}
}

// RequestResume wakes a paused thread, optionally in another state; false if the thread is not
// waiting for a resume.
func (c *Ctrl) RequestResume(to *State) bool {
	select {
	case c.resume <- to:
		return true
	default:
		return false
	}
}

// pausePending consumes a pending pause request, if any.
func (c *Ctrl) pausePending() bool {
	select {
	case <-c.pause:
		return true
	default:
		return false
	}
}

// sleep waits d, returning an interrupt when a pause is requested or ctx ends first.
func (c *Ctrl) sleep(ctx context.Context, d time.Duration) *Failure {
	if d <= 0 {
		if ctx.Err() != nil || c.pausePending() {
			return interrupted()
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.pause:
		return interrupted()
	case <-ctx.Done():
		return interrupted()
	}
}

func (c *Ctrl) setPaused(lastErr *string) {
	now := time.Now()
	c.mu.Lock()
	c.pausedAt = &now
	if lastErr != nil {
		c.lastErr = lastErr
	}
	c.mu.Unlock()
}

func (c *Ctrl) clearPaused() {
	c.mu.Lock()
	c.pausedAt, c.lastErr = nil, nil
	c.mu.Unlock()
}

func (c *Ctrl) setJob(id *abi.SectorID, st State) {
	c.mu.Lock()
	if st != c.state || !sameSector(id, c.jobID) || c.enteredAt.IsZero() {
		c.enteredAt = time.Now()
	}
	c.jobID, c.state = id, st
	c.mu.Unlock()
}

func sameSector(a, b *abi.SectorID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// timeInState is how long the thread has been in its state.
func (c *Ctrl) timeInState() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.enteredAt.IsZero() {
		return 0
	}
	return time.Since(c.enteredAt)
}

// setStep shows the counter of the step under way; nil when it ends.
func (c *Ctrl) setStep(step *progress.Counter) {
	c.mu.Lock()
	c.step = step
	c.mu.Unlock()
}

// Progress is where the thread stands in its state.
func (c *Ctrl) Progress(index int) api.ThreadProgress {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := api.ThreadProgress{Index: index, State: c.state.String()}
	if !c.enteredAt.IsZero() {
		at := c.enteredAt.UTC()
		p.StateEnteredAt = &at
	}
	if c.step != nil {
		step, total := c.step.Step, c.step.Total
		p.Step, p.BytesTotal = &step, &total
		if done, counted := c.step.Counted(); counted {
			p.BytesDone = &done
		}
	}
	return p
}

// Info is the thread as WorkerList reports it.
func (c *Ctrl) Info(index int, location string) api.WorkerThreadInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	info := api.WorkerThreadInfo{Location: location, Index: index, State: c.state.String()}
	if c.jobID != nil {
		id := *c.jobID
		info.SectorID = &id
	}
	if c.pausedAt != nil {
		info.Paused = true
		secs := uint64(time.Since(*c.pausedAt) / time.Second)
		info.PausedElapsed = &secs
	}
	if c.lastErr != nil {
		e := *c.lastErr
		info.LastError = &e
	}
	return info
}
