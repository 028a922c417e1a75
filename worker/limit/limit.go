// Package limit is the worker's resource pool (spec/worker.md §9.5): named concurrency limits and
// staggered start gates. One pool holds the stage limitations a sealing thread takes before a
// heavy step; another, concurrency only, holds the ext_locks of external processors.
package limit

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
)

// MinStaggered is the shortest stagger honoured; shorter ones are ignored with a warning, as the
// original does.
const MinStaggered = time.Second

var log = logging.Logger("limit")

// Pool hands out tokens by name. A name without a limit is unlimited. Pool satisfies
// sealing.Limiter.
type Pool struct {
	limits map[string]*limit
	// capKind names the wait on a concurrency cap for the observer: "concurrent" for the stage
	// limitations, "ext_locks" for the locks of external processors.
	capKind string
	// waited, when set, is told how long each Acquire of a limited name waited, by kind
	// ("concurrent", "staggered", "ext_locks"). It is set before the pool is shared.
	waited func(kind, name string, took time.Duration)
}

// Limitation kinds, as the observer of waits names them.
const (
	KindConcurrent = "concurrent"
	KindStaggered  = "staggered"
	KindExtLocks   = "ext_locks"
)

// Names lists the limited names by the kind of their waits.
func (p *Pool) Names() map[string][]string {
	out := map[string][]string{}
	for _, name := range sortedKeys(p.limits) {
		l := p.limits[name]
		if l.slots != nil {
			out[p.capKind] = append(out[p.capKind], name)
		}
		if l.gate != nil {
			out[KindStaggered] = append(out[KindStaggered], name)
		}
	}
	return out
}

// ObserveWaits has fn told how long each Acquire of a limited name waited; call it before the
// pool is used.
func (p *Pool) ObserveWaits(fn func(kind, name string, took time.Duration)) { p.waited = fn }

func (p *Pool) observe(kind, name string, since time.Time) {
	if p.waited != nil {
		p.waited(kind, name, time.Since(since))
	}
}

// limit is what one name is bound by: a concurrency cap, a start gate, or both.
type limit struct {
	slots chan struct{} // one buffered item per running holder; nil: no cap
	gate  *gate         // nil: no stagger
}

// NewPool builds a pool of concurrency caps and staggered start gates.
func NewPool(concurrent map[string]uint, staggered map[string]time.Duration) *Pool {
	p := &Pool{limits: map[string]*limit{}, capKind: KindConcurrent}
	for _, name := range sortedKeys(concurrent) {
		if n := concurrent[name]; n > 0 {
			p.entry(name).slots = make(chan struct{}, n)
		}
	}
	for _, name := range sortedKeys(staggered) {
		d := staggered[name]
		if d < MinStaggered {
			log.Warnf("staggered %s: %s is shorter than %s, ignored", name, d, MinStaggered)
			continue
		}
		p.entry(name).gate = newGate(d)
	}
	return p
}

// NewStagePool builds the stage limitation pool of [processors.limitation].
func NewStagePool(l config.Limitation) *Pool { return NewPool(l.Concurrent, l.Staggered) }

// NewLocks builds the [processors.ext_locks] pool: named counting locks, concurrency only.
func NewLocks(locks map[string]uint) *Pool {
	p := NewPool(locks, nil)
	p.capKind = KindExtLocks
	return p
}

func (p *Pool) entry(name string) *limit {
	l, ok := p.limits[name]
	if !ok {
		l = &limit{}
		p.limits[name] = l
	}
	return l
}

// Acquire takes a token of name, blocking until the concurrency cap and then the start gate let
// it through, or until ctx is done. release must be called when the step ends, success or not;
// calling it more than once is harmless.
func (p *Pool) Acquire(ctx context.Context, name string) (release func(), err error) {
	l := p.lookup(name)
	if l == nil {
		return func() {}, nil
	}
	if l.slots != nil {
		start := time.Now()
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.observe(p.capKind, name, start)
	}
	if l.gate != nil {
		start := time.Now()
		if err := l.gate.pass(ctx); err != nil {
			l.freeSlot()
			return nil, err
		}
		p.observe(KindStaggered, name, start)
	}
	return l.releaser(), nil
}

// TryAcquire takes a token of name only if that needs no waiting.
func (p *Pool) TryAcquire(name string) (release func(), ok bool) {
	l := p.lookup(name)
	if l == nil {
		return func() {}, true
	}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			return nil, false
		}
	}
	if l.gate != nil && !l.gate.tryPass() {
		l.freeSlot()
		return nil, false
	}
	return l.releaser(), true
}

// lookup is nil for an unlimited name; a nil pool limits nothing.
func (p *Pool) lookup(name string) *limit {
	if p == nil {
		return nil
	}
	return p.limits[name]
}

func (l *limit) freeSlot() {
	if l.slots != nil {
		<-l.slots
	}
}

func (l *limit) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.freeSlot()
			if l.gate != nil {
				// A finished task lets the next start go at once.
				l.gate.reopen()
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
