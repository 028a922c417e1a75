package sectors

import (
	"errors"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// Reopen moves an offline sector back online after fn changed it (a snap-up: Upgraded, the
// deals, UpgradePublic), in one transaction, with Finalized=false. Nothing changes if fn fails;
// its error is returned as it is. A sector that is not offline, or online already, is an error
// naming it.
func (s *Store) Reopen(sid abi.SectorID, fn func(st *api.SectorState) error) error {
	return s.db.Update(func(tx statedb.Txn) error {
		key := offlinePrefix + Key(sid)
		raw, err := tx.Get(key)
		if errors.Is(err, statedb.ErrNotFound) {
			return fmt.Errorf("sector %s is not in the offline store", api.FormatSectorID(sid))
		}
		if err != nil {
			return err
		}
		if _, err := tx.Get(onlinePrefix + Key(sid)); err == nil {
			return fmt.Errorf("sector %s is online already", api.FormatSectorID(sid))
		}
		st, err := decode(key, raw)
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		st.Finalized = false
		if err := put(tx, onlinePrefix+Key(sid), st); err != nil {
			return err
		}
		return tx.Delete(key)
	})
}

// FinalizeUpgraded is Finalize for a manager without a snap-up committer (the mock): an upgraded
// sector moves offline too. Repeats are acknowledged as Finalize's are.
func (s *Store) FinalizeUpgraded(sid abi.SectorID) error {
	return s.moveOffline(sid,
		func(st *api.SectorState) bool { return true },
		func(off *api.SectorState) bool { return off.AbortReason == "" })
}
