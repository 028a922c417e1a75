package sectors

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Reopen moves an offline sector back online after fn changed it (a snap-up: Upgraded, the
// deals, UpgradePublic), in one transaction, with Finalized=false. Nothing changes if fn fails;
// its error is returned as it is. A sector that is not offline, or online already, is an error
// naming it.
func (s *Store) Reopen(sid abi.SectorID, fn func(st *api.SectorState) error) error {
	return s.reopen(sid, fmt.Sprintf("sector %s is not in the offline store", api.FormatSectorID(sid)), fn)
}

// FinalizeUpgraded is Finalize for a manager without a snap-up committer (the mock): an upgraded
// sector moves offline too. Repeats are acknowledged as Finalize's are.
func (s *Store) FinalizeUpgraded(sid abi.SectorID) error {
	return s.moveOffline(sid,
		func(st *api.SectorState) bool { return true },
		func(off *api.SectorState) bool { return off.AbortReason == "" })
}
