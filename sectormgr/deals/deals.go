// Package deals fills sectors with deals (spec/sector-manager.md §4.5): the deal managers a
// sector's pieces come from (Market, over a venus-market/droplet node; Null, without one; and
// sub-package dirmarket, the mock's directory of payload files), the validation every set of
// pieces passes before a sector keeps it (CheckPieces), and the AcquireDeals call workers make
// (Acquirer).
package deals

import (
	"context"
	"fmt"
	"sync"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

var log = logging.Logger("deals")

// Job is what a sector takes deals for.
type Job int

const (
	// Sealing: a new sector, gated by [Miners.Sector].EnableDeals.
	Sealing Job = iota + 1
	// SnapUp: an upgrade of a sealed CC sector, gated by [Miners.SnapUp].Enabled.
	SnapUp
)

func (j Job) String() string {
	switch j {
	case Sealing:
		return "sealing"
	case SnapUp:
		return "snapup"
	}
	return fmt.Sprintf("Job(%d)", int(j))
}

// Lifetime bounds the deals a sector can take: a snap-up's deals must start at or after Start
// (the sector's activation) and end before End (its expiration).
type Lifetime struct {
	Start abi.ChainEpoch
	End   abi.ChainEpoch
}

// Manager hands out deals for sectors and takes them back.
type Manager interface {
	// Acquire assigns deals to sid, with the filler pieces that complete the sector; nil when
	// there is no deal for it. The deals stay assigned to sid until Release.
	Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *Lifetime, job Job) (api.Deals, error)
	// Release gives the deals of pieces back (filler pieces are ignored).
	Release(ctx context.Context, sid abi.SectorID, deals api.Deals) error
}

// Null is the deal manager of a manager without a market: every sector is a CC sector.
type Null struct{}

var _ Manager = Null{}

var nullWarning sync.Once

// NewNull returns the null deal manager, warning (once per process) that deals are off.
func NewNull() Null {
	nullWarning.Do(func() {
		log.Warn("deal manager based on market api is disabled, use mocked")
	})
	return Null{}
}

// Acquire never has deals.
func (Null) Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *Lifetime, job Job) (api.Deals, error) {
	return nil, nil
}

// Release has nothing to give back.
func (Null) Release(ctx context.Context, sid abi.SectorID, deals api.Deals) error {
	return nil
}

// minerConfig finds the config of a miner; a sector of a miner that left the config is an
// error naming the fix.
func minerConfig(miners []config.MinerConfig, miner abi.ActorID) (config.MinerConfig, error) {
	for _, m := range miners {
		if m.Actor == miner {
			return m, nil
		}
	}
	return config.MinerConfig{}, fmt.Errorf("config for miner actor %d not found: add a [[Miners]] entry with Actor = %d", miner, miner)
}

// dealIDs are the deal ids of pieces, filler pieces left out.
func dealIDs(pieces api.Deals) []abi.DealID {
	var ids []abi.DealID
	for _, p := range pieces {
		if p.ID != 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids
}
