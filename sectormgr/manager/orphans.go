package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

// DefaultOrphanTimeout is how long a sector may stay an orphan (sectors.IsOrphan) before the
// manager aborts it. A live worker reports its sector within moments of the allocation, and an
// original worker takes its ticket within minutes, so an hour is far past any of them.
const DefaultOrphanTimeout = time.Hour

// orphanReaper aborts the sectors that stay orphans for its timeout, so that their numbers,
// deals and reservations do not stay held by a worker that died between AllocateSector and
// saving its job. It measures from when it first saw a sector as an orphan, kept in memory: a
// restarted manager starts the wait again, which only ever waits longer.
type orphanReaper struct {
	g       *Manager
	timeout time.Duration
	now     func() time.Time
	seen    map[abi.SectorID]time.Time
}

func newOrphanReaper(g *Manager, timeout time.Duration, now func() time.Time) *orphanReaper {
	if now == nil {
		now = time.Now
	}
	return &orphanReaper{g: g, timeout: timeout, now: now, seen: map[abi.SectorID]time.Time{}}
}

// run sweeps every quarter of the timeout (between 1 s and 5 min) until ctx ends.
func (r *orphanReaper) run(ctx context.Context) {
	every := min(max(r.timeout/4, time.Second), 5*time.Minute)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := r.sweep(ctx); err != nil {
				log.Warnw("look for orphan sectors", "err", err)
			}
		}
	}
}

// sweep aborts the online sectors that have been orphans for the timeout, and starts the wait
// for the new ones.
func (r *orphanReaper) sweep(ctx context.Context) error {
	states, err := r.g.m.Sectors.List(api.WorkerOnline, api.SectorWorkerJobAll)
	if err != nil {
		return err
	}
	now := r.now()
	orphans := map[abi.SectorID]bool{}
	for _, st := range states {
		if !sectors.IsOrphan(st) {
			continue
		}
		orphans[st.ID] = true
		first, ok := r.seen[st.ID]
		if !ok {
			r.seen[st.ID] = now
			continue
		}
		if now.Sub(first) < r.timeout {
			continue
		}
		reason := fmt.Sprintf("orphan: no worker called about this sector within %s of its allocation (released by the manager)", r.timeout)
		if err := r.g.ReportAborted(ctx, st.ID, reason); err != nil && !api.IsSectorStateNotFound(err) {
			log.Warnw("abort an orphan sector", "sector", api.FormatSectorID(st.ID), "err", err)
			continue
		}
		log.Warnw("orphan sector aborted", "sector", api.FormatSectorID(st.ID), "timeout", r.timeout)
	}
	for id := range r.seen {
		if !orphans[id] {
			delete(r.seen, id)
		}
	}
	return nil
}
