package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Producer runs a stage on external child processes, one per [[processors.<stage>]] entry. It is
// a Processor of that stage.
type Producer[I, O any] struct {
	stage    string
	children []*child
	locks    Locks
	intn     func(n int) int // random choice among children; tests make it deterministic
}

// NewProducer spawns every child of the stage and waits for each to be ready; any failure kills
// the children already started. locks is the ext_locks pool (nil: no locks); restarted, if not
// nil, is told of every restart of a child that exited.
func NewProducer[I, O any](ctx context.Context, stage string, entries []Spec, locks Locks, restarted func(stage string)) (*Producer[I, O], error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("processors.%s: no subs section found: add at least one [[processors.%s]] table", stage, stage)
	}
	p := &Producer[I, O]{stage: stage, locks: locks, intn: rand.IntN}
	for i, e := range entries {
		c, err := startChild(ctx, stage, i, e, restarted)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.children = append(p.children, c)
	}
	return p, nil
}

// Process sends the task to a child chosen as spec §9.2 says and decodes its output.
func (p *Producer[I, O]) Process(ctx context.Context, task I) (O, error) {
	var out O
	raw, err := json.Marshal(task)
	if err != nil {
		return out, fmt.Errorf("encode %s task: %w", p.stage, err)
	}
	c, unlock, err := p.choose(ctx)
	if err != nil {
		return out, err
	}
	defer unlock()
	res, err := c.call(ctx, raw)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return out, fmt.Errorf("decode %s output of %s: %w", p.stage, c.cfg.key(p.stage, c.index), err)
	}
	return out, nil
}

// Close kills every child and waits for them.
func (p *Producer[I, O]) Close() error {
	for _, c := range p.children {
		c.close()
	}
	return nil
}

// choose picks the child for one task and takes its locks: among the children that are up, have
// a free slot and whose locks are all free now, one at random by weight; if there is none, one
// at random by weight among all, waiting for its locks. unlock releases the locks.
func (p *Producer[I, O]) choose(ctx context.Context) (c *child, unlock func(), err error) {
	var ready []*child
	var unlocks []func()
	for _, c := range p.children {
		if !c.isUp() || !c.hasFreeSlot() {
			continue
		}
		if release, ok := tryLocks(p.locks, c.cfg.Locks); ok {
			ready = append(ready, c)
			unlocks = append(unlocks, release)
		}
	}
	if len(ready) > 0 {
		pick := pickWeighted(ready, p.intn)
		for i, release := range unlocks {
			if i != pick {
				release()
			}
		}
		return ready[pick], unlocks[pick], nil
	}
	c = p.children[pickWeighted(p.children, p.intn)]
	unlock, err = waitLocks(ctx, p.locks, c.cfg.Locks)
	if err != nil {
		return nil, nil, err
	}
	return c, unlock, nil
}

// pickWeighted returns an index into children drawn with probability proportional to weight.
func pickWeighted(children []*child, intn func(int) int) int {
	total := 0
	for _, c := range children {
		total += int(weightOf(c))
	}
	r := intn(total)
	for i, c := range children {
		r -= int(weightOf(c))
		if r < 0 {
			return i
		}
	}
	return len(children) - 1
}

// weightOf treats an unset weight as 1, the config default.
func weightOf(c *child) uint16 { return max(c.cfg.Weight, 1) }

func tryLocks(pool Locks, names []string) (unlock func(), ok bool) {
	var held []func()
	for _, name := range uniqueSorted(names) {
		release, ok := pool.TryAcquire(name)
		if !ok {
			releaseAll(held)
			return nil, false
		}
		held = append(held, release)
	}
	return func() { releaseAll(held) }, true
}

// waitLocks takes the locks in name order, so two children sharing locks cannot deadlock.
func waitLocks(ctx context.Context, pool Locks, names []string) (unlock func(), err error) {
	var held []func()
	for _, name := range uniqueSorted(names) {
		release, err := pool.Acquire(ctx, name)
		if err != nil {
			releaseAll(held)
			return nil, fmt.Errorf("wait for ext lock %q: %w", name, err)
		}
		held = append(held, release)
	}
	return func() { releaseAll(held) }, nil
}

// uniqueSorted lists each lock once: a name written twice must not wait for itself.
func uniqueSorted(names []string) []string {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	return slices.Compact(sorted)
}

func releaseAll(held []func()) {
	for _, release := range slices.Backward(held) {
		release()
	}
}
