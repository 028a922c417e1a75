// Package progress counts the bytes a long step has done (tree_d, a transfer), for the worker's
// metrics and --json. The thread puts a Counter in the step's context; the code that moves the
// bytes adds to whatever counter its context carries, so it needs no knowledge of threads.
package progress

import (
	"context"
	"sync/atomic"
)

// Counter is one step's progress: its name, the bytes it has to do and those done so far.
type Counter struct {
	Step  string
	Total int64
	done  atomic.Int64
	// counted tells that something counted into it: a step run in an external processor counts
	// nothing, and its bytes done are unknown rather than zero.
	counted atomic.Bool
}

// New is the counter of a step that has total bytes to do.
func New(step string, total int64) *Counter { return &Counter{Step: step, Total: total} }

// Counted is the bytes done so far, and whether the step counts them at all.
func (c *Counter) Counted() (done int64, counted bool) { return c.done.Load(), c.counted.Load() }

type key struct{}

// With is ctx carrying c.
func With(ctx context.Context, c *Counter) context.Context { return context.WithValue(ctx, key{}, c) }

// Adder is the function that counts bytes done into ctx's counter; it does nothing when ctx
// carries none (a step run outside a thread, or in an external processor).
func Adder(ctx context.Context) func(n int64) {
	c, ok := ctx.Value(key{}).(*Counter)
	if !ok {
		return func(int64) {}
	}
	return func(n int64) {
		c.done.Add(n)
		c.counted.Store(true)
	}
}
