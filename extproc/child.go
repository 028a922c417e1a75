package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Restart back-off: a child that keeps dying waits twice as long before each new start, up to
// maxRestartDelay; one that ran for stableRun before dying starts again after minRestartDelay.
const (
	minRestartDelay = 200 * time.Millisecond
	maxRestartDelay = 30 * time.Second
	stableRun       = 30 * time.Second
)

// child is one [[processors.<stage>]] entry: the running process, restarted whenever it exits,
// its concurrency slots and its cgroup.
type child struct {
	stage string
	index int
	cfg   Spec
	slots chan struct{} // one buffered item per call in flight; nil: unlimited
	cg    *cgroup       // nil: no cpuset asked, or cgroups unusable here
	// restarted is told of each restart; nil: nobody asked.
	restarted func(stage string)

	closing chan struct{} // closed by close: stop restarting
	stopped chan struct{} // closed when the supervisor returned

	mu       sync.Mutex
	cur      *process      // nil while down
	changed  chan struct{} // closed (and replaced) whenever cur or the restart outcome changes
	failures uint64        // restart attempts that failed so far
	lastErr  error         // why the last restart attempt failed
	closed   bool
}

// startChild spawns the first process of an entry; a failure here fails start-up.
func startChild(ctx context.Context, stage string, index int, cfg Spec, restarted func(stage string)) (*child, error) {
	c := &child{
		restarted: restarted,
		stage:     stage,
		index:     index,
		cfg:       cfg,
		closing:   make(chan struct{}),
		stopped:   make(chan struct{}),
		changed:   make(chan struct{}),
	}
	if cfg.Concurrent != nil {
		if *cfg.Concurrent == 0 {
			return nil, fmt.Errorf("%s.concurrent: invalid concurrent limit 0: want 1 or more, or leave it out for no limit", cfg.key(stage, index))
		}
		c.slots = make(chan struct{}, *cfg.Concurrent)
	}
	p, err := spawn(ctx, stage, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.key(stage, index), err)
	}
	c.setupCgroup(p.pid)
	c.cur = p
	go c.supervise(p)
	return c, nil
}

func (c *child) setupCgroup(pid int) {
	if c.cfg.CGroup.CPUSet == "" {
		return
	}
	cg, err := newCgroup(c.cfg.CGroup.GroupName, cgroupName(c.stage, c.index), c.cfg.CGroup.CPUSet)
	if err == nil {
		err = cg.add(pid)
		if err != nil {
			cg.remove()
		}
	}
	if err != nil {
		cgroupWarnOnce.Do(func() {
			log.Warnw("cgroup.cpuset not applied: external processors run without cpu pinning", "stage", c.stage, "index", c.index, "err", err)
		})
		log.Debugw("cgroup.cpuset not applied", "stage", c.stage, "index", c.index, "err", err)
		return
	}
	c.cg = cg
}

// supervise restarts the process whenever it exits, until the child is closed. Calls pending on
// the dead process have already failed; they are not retried here.
func (c *child) supervise(p *process) {
	defer close(c.stopped)
	delay := minRestartDelay
	for {
		started := time.Now()
		select {
		case <-p.exited:
		case <-c.closing:
			return
		}
		if time.Since(started) >= stableRun {
			delay = minRestartDelay
		}
		log.Warnw("external processor exited, restarting it", "stage", c.stage, "index", c.index, "err", p.exitErr, "after", delay)
		c.publish(nil, nil)
		for {
			select {
			case <-time.After(delay):
			case <-c.closing:
				return
			}
			delay = min(delay*2, maxRestartDelay)
			np, err := c.restart()
			c.publish(np, err)
			if err == nil {
				p = np
				break
			}
			log.Errorw("restart external processor", "stage", c.stage, "index", c.index, "err", err, "next try after", delay)
		}
	}
}

func (c *child) restart() (*process, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	p, err := spawn(ctx, c.stage, c.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s is down and could not be restarted: %w", c.cfg.key(c.stage, c.index), err)
	}
	if c.cg != nil {
		if err := c.cg.add(p.pid); err != nil {
			log.Warnw("restarted external processor left outside its cgroup", "stage", c.stage, "index", c.index, "err", err)
		}
	}
	log.Infow("external processor restarted", "stage", c.stage, "index", c.index, "pid", p.pid)
	if c.restarted != nil {
		c.restarted(c.stage)
	}
	return p, nil
}

// publish records the outcome of a restart (or that the child went down) and wakes waiters.
func (c *child) publish(p *process, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = p
	if err != nil {
		c.failures++
		c.lastErr = err
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// isUp tells whether a call could be sent right now.
func (c *child) isUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && !c.cur.hasExited()
}

// process returns the running process, waiting for a restart while the child is down. A restart
// attempt that fails while waiting fails the call, so a broken child cannot hang its callers.
func (c *child) process(ctx context.Context) (*process, error) {
	c.mu.Lock()
	failuresAtStart := c.failures
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("%s processor closed", c.stage)
		}
		if c.cur != nil && !c.cur.hasExited() {
			p := c.cur
			c.mu.Unlock()
			return p, nil
		}
		if c.failures > failuresAtStart {
			err := c.lastErr
			c.mu.Unlock()
			return nil, err
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.closing:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// call runs one task on this child, holding one of its concurrency slots.
func (c *child) call(ctx context.Context, task json.RawMessage) (json.RawMessage, error) {
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
			defer func() { <-c.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p, err := c.process(ctx)
	if err != nil {
		return nil, err
	}
	return p.call(ctx, task)
}

// hasFreeSlot tells whether a call could start without waiting for this child's concurrency
// limit.
func (c *child) hasFreeSlot() bool {
	return c.slots == nil || len(c.slots) < cap(c.slots)
}

// close stops restarting, kills the running process, waits for it and removes the cgroup.
func (c *child) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.closing)
	c.mu.Unlock()
	<-c.stopped
	c.mu.Lock()
	p := c.cur
	c.mu.Unlock()
	if p != nil {
		p.kill()
	}
	if c.cg != nil {
		c.cg.remove()
	}
}
