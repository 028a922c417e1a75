package limit

import (
	"context"
	"sync"
	"time"
)

// gate is a staggered start gate of capacity one. Passing it closes it; it reopens `every`
// after it closed, or earlier when a holder of the same name finishes.
//
// The original reopens on a timer that restarts at every event, so two starts may be closer
// than D; ours counts D from the start that closed the gate, which is what a stagger is for.
type gate struct {
	every time.Duration

	mu     sync.Mutex
	open   bool
	opened chan struct{} // closed (and replaced) each time the gate reopens
	gen    uint64        // bumped each time the gate closes, so a stale timer cannot reopen it
	timer  *time.Timer
}

func newGate(every time.Duration) *gate {
	return &gate{every: every, open: true, opened: make(chan struct{})}
}

// pass waits for the gate to be open and closes it behind the caller.
func (g *gate) pass(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.open {
			g.closeLocked()
			g.mu.Unlock()
			return nil
		}
		opened := g.opened
		g.mu.Unlock()
		select {
		case <-opened:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *gate) tryPass() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return false
	}
	g.closeLocked()
	return true
}

func (g *gate) closeLocked() {
	g.open = false
	g.gen++
	gen := g.gen
	if g.timer != nil {
		g.timer.Stop()
	}
	g.timer = time.AfterFunc(g.every, func() { g.reopenGen(gen) })
}

// reopen opens the gate now (a holder finished).
func (g *gate) reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.openLocked()
}

// reopenGen opens the gate if it is still closed by the start that armed this timer.
func (g *gate) reopenGen(gen uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen == gen {
		g.openLocked()
	}
}

func (g *gate) openLocked() {
	if g.open {
		return
	}
	g.open = true
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	close(g.opened)
	g.opened = make(chan struct{})
}
