package simchain

import (
	"encoding/json"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
)

// snapshot is the chain's state as it was just before the tipset above height was mined: what
// Reorg goes back to.
type snapshot struct {
	height abi.ChainEpoch
	state  []byte // fileState JSON: a deep copy
	events int    // len(postEvents) then
}

// snapshotLocked keeps the state before the next tipset is mined, when Options.ReorgDepth asks
// for a history.
func (c *Chain) snapshotLocked() error {
	if c.opts.ReorgDepth == 0 {
		return nil
	}
	raw, err := json.Marshal(c.st.toFile())
	if err != nil {
		return fmt.Errorf("simchain: keep the state of epoch %d for reorgs: %w", c.st.head, err)
	}
	c.history = append(c.history, snapshot{height: c.st.head, state: raw, events: len(c.postEvents)})
	if n := len(c.history) - c.opts.ReorgDepth; n > 0 {
		c.history = append(c.history[:0], c.history[n:]...)
	}
	return nil
}

// Reorg replaces the last depth tipsets by a fork of the same length, as a heavier chain from
// another miner would: the state goes back to the fork point, every message included above it
// returns to the pool with the messages pushed since (same CIDs and nonces), and depth new
// tipsets with other CIDs and tickets are mined, which include them again. A message whose
// params depended on a replaced tipset (a SubmitWindowedPoSt's ChainCommitRand) fails when it
// runs again. Tipset keys of the replaced tipsets are unknown afterwards. Test controls called
// since the fork point (AddMiner, ActivateSectors, ...) are undone with the rest of the state.
func (c *Chain) Reorg(depth int) error {
	if err := c.revert(depth); err != nil {
		return err
	}
	return c.Advance(depth)
}

func (c *Chain) revert(depth int) error {
	c.advanceMu.Lock()
	defer c.advanceMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	if depth < 1 || depth > len(c.history) || depth > c.opts.ReorgDepth {
		return fmt.Errorf("simchain: cannot reorg %d epochs: the chain keeps %d (Options.ReorgDepth %d)", depth, len(c.history), c.opts.ReorgDepth)
	}
	snap := c.history[len(c.history)-depth]
	var f fileState
	if err := json.Unmarshal(snap.state, &f); err != nil {
		return fmt.Errorf("simchain: decode the state of epoch %d: %w", snap.height, err)
	}
	back, err := f.toState()
	if err != nil {
		return fmt.Errorf("simchain: rebuild the state of epoch %d: %w", snap.height, err)
	}
	for _, p := range c.st.msgs {
		if back.byCid[p.cid] != nil {
			continue // pushed before the fork point: the snapshot has it, pending or included
		}
		again, err := newPushed(p.signed, p.uuid)
		if err != nil {
			return err
		}
		back.addPushedLocked(again)
	}
	back.nonces = c.st.nonces // the pool's nonces go on: no message is forgotten
	back.forks = append(append([]abi.ChainEpoch(nil), c.st.forks...), snap.height)
	log.Infow("chain reorganised", "from", c.st.head, "fork_point", snap.height, "depth", depth)
	c.st = back
	c.postEvents = c.postEvents[:snap.events]
	c.history = c.history[:len(c.history)-depth]
	close(c.headCh)
	c.headCh = make(chan struct{})
	return c.saveLocked()
}
