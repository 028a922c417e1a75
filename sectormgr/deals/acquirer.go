package deals

import (
	"context"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

// Acquirer serves AcquireDeals over a deal manager and the sector store, and gives an aborted
// sector's deals back (ReleaseDeals). It is safe for concurrent use.
type Acquirer struct {
	mgr    Manager
	store  *sectors.Store
	miners func() []config.MinerConfig
}

// NewAcquirer takes deals from mgr and keeps them in store. miners is read on every call, so a
// reloaded EnableDeals applies to the next sector.
func NewAcquirer(mgr Manager, store *sectors.Store, miners func() []config.MinerConfig) *Acquirer {
	return &Acquirer{mgr: mgr, store: store, miners: miners}
}

// AcquireDeals gives an online sector its deals: the pieces it holds already, if any (a repeat
// returns them); otherwise, when its miner has EnableDeals, the deals the manager assigns, once
// they pass CheckPieces and are kept in the sector's state. Deals that fail either step go back
// to the manager. Null means a CC sector. A sector that is not online gives the 11001 error,
// unwrapped.
func (a *Acquirer) AcquireDeals(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec) (api.Deals, error) {
	st, err := a.store.Online(sid)
	if err != nil {
		return nil, err
	}
	if len(st.Pieces) > 0 {
		return st.Pieces, nil
	}
	mcfg, err := minerConfig(a.miners(), sid.Miner)
	if err != nil {
		return nil, err
	}
	if !mcfg.Sector.EnableDeals {
		return nil, nil
	}
	size, err := st.SectorType.SectorSize()
	if err != nil {
		return nil, fmt.Errorf("sector %s: %w", api.FormatSectorID(sid), err)
	}

	pieces, err := a.mgr.Acquire(ctx, sid, spec, nil, Sealing)
	if err != nil {
		return nil, err
	}
	if len(pieces) == 0 {
		return nil, nil
	}
	if err := CheckPieces(size, pieces); err != nil {
		a.giveBack(ctx, sid, pieces, "invalid pieces")
		return nil, fmt.Errorf("sector %s: the deal manager gave invalid pieces (its deals were given back): %w", api.FormatSectorID(sid), err)
	}

	var kept api.Deals
	err = a.store.Update(sid, func(st *api.SectorState) error {
		if len(st.Pieces) > 0 {
			kept = st.Pieces // a concurrent call kept its deals first
			return nil
		}
		st.Pieces = pieces
		return nil
	})
	if err != nil {
		a.giveBack(ctx, sid, pieces, "state not saved")
		return nil, err
	}
	if kept != nil {
		a.giveBack(ctx, sid, pieces, "sector got other deals meanwhile")
		return kept, nil
	}
	log.Infow("deals acquired", "sector", api.FormatSectorID(sid), "deals", dealIDs(pieces), "pieces", len(pieces))
	return pieces, nil
}

// ReleaseDeals gives the deals of an aborted sector back to the deal manager.
func (a *Acquirer) ReleaseDeals(ctx context.Context, sid abi.SectorID, pieces api.Deals) error {
	return a.mgr.Release(ctx, sid, pieces)
}

// giveBack releases deals the sector does not keep; a failure is only logged, since the call
// already fails (or succeeded with other deals) for its own reason.
func (a *Acquirer) giveBack(ctx context.Context, sid abi.SectorID, pieces api.Deals, why string) {
	if err := a.mgr.Release(ctx, sid, pieces); err != nil {
		log.Errorw("release deals", "sector", api.FormatSectorID(sid), "deals", dealIDs(pieces), "why", why, "err", err)
		return
	}
	log.Warnw("deals released", "sector", api.FormatSectorID(sid), "deals", dealIDs(pieces), "why", why)
}
