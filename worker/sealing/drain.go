package sealing

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
)

// drainKey is the metadb key that marks a sealing location's worker drained. Every thread's
// location carries it, so the mark survives a restart with the stores it governs, and a worker
// with any location marked starts drained (a crash between two writes errs on the safe side).
const drainKey = "worker/drained"

// Drain is the worker's drain switch: while it is on, threads finish the sector they hold and take
// no new one (spec: issue 13, a host out of rotation). It is saved (fsync'd) in every location
// before a change is reported.
type Drain struct {
	mu  sync.Mutex
	on  bool
	dbs []*kvstore.DB
}

// OpenDrain reads the drain mark of the locations' metadbs.
func OpenDrain(dbs ...*kvstore.DB) (*Drain, error) {
	d := &Drain{dbs: dbs}
	for _, db := range dbs {
		_, err := db.Get(drainKey)
		switch {
		case err == nil:
			d.on = true
		case !errors.Is(err, kvstore.ErrNotFound):
			return nil, fmt.Errorf("read the drain mark: %w", err)
		}
	}
	return d, nil
}

// On tells whether the worker is drained; a nil Drain never is.
func (d *Drain) On() bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.on
}

// Set turns the drain on or off and reports whether that changed it. The mark is written in every
// location first; a failed write leaves the switch as it was and names the store.
func (d *Drain) Set(on bool) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, db := range d.dbs {
		var err error
		if on {
			err = db.Put(drainKey, []byte("true"))
		} else {
			err = db.Delete(drainKey)
		}
		if err != nil {
			return false, fmt.Errorf("save the drain mark in %s: %w", db.Path(), err)
		}
	}
	changed := d.on != on
	d.on = on
	return changed, nil
}
