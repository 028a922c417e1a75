package commitment

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

// defaultCheckInterval is the batch timer when the config leaves CheckInterval at zero.
const defaultCheckInterval = time.Minute

// defaultBlockDelay is the epoch length when the chain does not say (Filecoin's 30 s).
const defaultBlockDelay = 30 * time.Second

// queued is a sector waiting in a batcher; since is the epoch its wait is measured from (the
// ticket's epoch for a pre-commit, the seed's for a proof).
type queued struct {
	num   abi.SectorNumber
	since abi.ChainEpoch
}

// batcher collects the sectors of one miner and kind and decides when to send them (§4.7): all
// of them when the batch is full, on a manual flush, or when batching is disabled; on a timer
// tick, only those that waited longer than MaxWait.
type batcher struct {
	m     *Manager
	miner abi.ActorID
	kind  Kind
	add   chan queued
	force chan chan *run
	// query answers how many sectors wait (tests).
	query chan chan int
	// ticks counts timer ticks handled (tests).
	ticks atomic.Int64

	mu   sync.Mutex
	runs []*run // sends started and maybe not finished
}

// run is one background send of taken sectors.
type run struct {
	done chan struct{}
	err  error
}

func (r *run) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// enqueue hands a sector to its batcher; a sector whose message is already being sent (or
// awaits a retried push) is not queued again.
func (m *Manager) enqueue(kind Kind, sid abi.SectorID, since abi.ChainEpoch) {
	if m.isBusy(kind, sid) {
		log.Warnw("not queueing a sector whose message is being sent", "sector", api.FormatSectorID(sid), "kind", kind)
		return
	}
	b := m.batcher(sid.Miner, kind)
	if b == nil {
		return
	}
	select {
	case b.add <- queued{num: sid.Number, since: since}:
	case <-m.ctx.Done():
	}
}

// batcher returns the batcher of (miner, kind), starting it on first use; nil once stopped.
func (m *Manager) batcher(miner abi.ActorID, kind Kind) *batcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil
	}
	key := batcherKey{miner, kind}
	if b := m.batchers[key]; b != nil {
		return b
	}
	b := &batcher{m: m, miner: miner, kind: kind, add: make(chan queued, 1024), force: make(chan chan *run), query: make(chan chan int)}
	m.batchers[key] = b
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		b.run()
	}()
	return b
}

var errStopped = errors.New("the commitment manager is stopped")

// flush makes the batcher send all it holds and waits until every send it started, this one
// and earlier ones, has pushed its messages (or failed to). It returns their errors.
func (b *batcher) flush(ctx context.Context) error {
	reply := make(chan *run, 1)
	select {
	case b.force <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.m.ctx.Done():
		return errStopped
	}
	select {
	case <-reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	runs := append([]*run(nil), b.runs...)
	b.mu.Unlock()
	var errs []error
	for _, r := range runs {
		select {
		case <-r.done:
			errs = append(errs, r.err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.prune()
	return errors.Join(errs...)
}

// waiting is how many sectors the batcher holds (tests).
func (b *batcher) waiting(ctx context.Context) (int, error) {
	reply := make(chan int, 1)
	select {
	case b.query <- reply:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case n := <-reply:
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (b *batcher) prune() {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := b.runs[:0]
	for _, r := range b.runs {
		if !r.finished() {
			live = append(live, r)
		}
	}
	clear(b.runs[len(live):])
	b.runs = live
}

// policy is the live batch policy of this batcher's kind; ok is false without a miner config.
func (b *batcher) policy() (config.BatchConfig, bool) {
	cfg, ok := b.m.deps.Miner(b.miner)
	if !ok {
		return config.BatchConfig{}, false
	}
	if b.kind == KindProve {
		return cfg.Commitment.Prove.Batch, true
	}
	return cfg.Commitment.Pre.Batch, true
}

func (b *batcher) checkInterval() time.Duration {
	if p, ok := b.policy(); ok && p.CheckInterval.Std() > 0 {
		return p.CheckInterval.Std()
	}
	return defaultCheckInterval
}

func (b *batcher) run() {
	var pending []queued
	timer := time.NewTimer(b.checkInterval())
	defer timer.Stop()
	for {
		tick, manual := false, false
		var reply chan *run
		var asked chan int
		select {
		case <-b.m.ctx.Done():
			return
		case q := <-b.add:
			pending = addPending(pending, q)
		case <-timer.C:
			tick = true
		case reply = <-b.force:
			manual = true
			pending = b.drain(pending)
		case asked = <-b.query:
			pending = b.drain(pending)
		}

		policy, ok := b.policy()
		full := ok && len(pending) >= policy.Threshold
		all := len(pending) > 0 && (full || manual || !ok || !policy.Enabled)
		var take []queued
		switch {
		case all:
			take, pending = pending, nil
		case tick && len(pending) > 0:
			take, pending = b.expired(pending, policy)
		}
		var started *run
		if len(take) > 0 {
			started = b.process(take)
		}
		if reply != nil {
			reply <- started
		}
		if asked != nil {
			asked <- len(pending)
		}
		if tick {
			b.ticks.Add(1)
		}
		if tick || all {
			timer.Reset(b.checkInterval())
		}
	}
}

// drain takes the sectors already handed to the batcher, so a flush or query made after a
// submission returned sees that submission.
func (b *batcher) drain(pending []queued) []queued {
	for {
		select {
		case q := <-b.add:
			pending = addPending(pending, q)
		default:
			return pending
		}
	}
}

// addPending queues q once: a sector queued again keeps one place, with the newer epoch.
func addPending(pending []queued, q queued) []queued {
	for i := range pending {
		if pending[i].num == q.num {
			pending[i].since = q.since
			return pending
		}
	}
	return append(pending, q)
}

// expired splits out the sectors that waited more than MaxWait, in epochs of the chain's block
// delay. Without a chain head nothing expires this tick.
func (b *batcher) expired(pending []queued, policy config.BatchConfig) (take, keep []queued) {
	head, err := b.m.head(b.m.ctx)
	if err != nil {
		log.Warnw("batch tick: cannot read the chain head, checking again next tick", "miner", b.miner, "kind", b.kind, "err", err)
		return nil, pending
	}
	delay := defaultBlockDelay
	if p, err := b.m.networkParams(b.m.ctx); err == nil && p.BlockDelaySecs > 0 {
		delay = time.Duration(p.BlockDelaySecs) * time.Second
	}
	maxWait := abi.ChainEpoch(policy.MaxWait.Std() / delay)
	for _, q := range pending {
		if head.Height-q.since > maxWait {
			take = append(take, q)
		} else {
			keep = append(keep, q)
		}
	}
	return take, keep
}

// process sends take in the background.
func (b *batcher) process(take []queued) *run {
	nums := make([]abi.SectorNumber, len(take))
	for i, q := range take {
		nums[i] = q.num
	}
	b.m.markBusy(b.kind, b.miner, nums)
	r := &run{done: make(chan struct{})}
	b.prune()
	b.mu.Lock()
	b.runs = append(b.runs, r)
	b.mu.Unlock()
	started := b.m.goTracked(func() {
		defer close(r.done)
		r.err = b.m.process(b.miner, b.kind, nums)
	})
	if !started {
		b.m.unmarkBusy(b.kind, b.miner, nums)
		r.err = errStopped
		close(r.done)
	}
	return r
}
