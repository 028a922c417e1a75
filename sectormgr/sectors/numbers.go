package sectors

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("sectors")

// NextNumber hands out the next sector number of miner for the production allocator
// (spec/sector-manager.md §4.4): max(last handed out, min) + 1, where min is the miner's
// MinNumber or InitNumber. The number is durable once NextNumber returns, so it is never handed
// out again even if the sector is then refused (e.g. the chain says the number is taken); the
// sector's state is created apart, by Init. A number that already has a state (an imported
// sector) is skipped.
//
// With ceiling set (the miner's MaxNumber), ok is false and nothing changes when the number
// would be above *ceiling.
func (s *Store) NextNumber(miner abi.ActorID, floor uint64, ceiling *uint64) (num abi.SectorNumber, ok bool, err error) {
	err = s.db.Update(func(tx statedb.Txn) error {
		last, err := lastNumber(tx, miner)
		if err != nil {
			return err
		}
		next := max(last, floor)
		for {
			next++
			taken, err := exists(tx, abi.SectorID{Miner: miner, Number: abi.SectorNumber(next)})
			if err != nil {
				return err
			}
			if !taken {
				break
			}
		}
		if ceiling != nil && next > *ceiling {
			return nil
		}
		ok, num = true, abi.SectorNumber(next)
		return tx.Put(numberKey(miner), binary.AppendUvarint(nil, next))
	})
	if err != nil || !ok {
		return 0, false, err
	}
	return num, true, nil
}

// unknown passes err through; when it says a worker asked about a sector this store does not
// have (11001), the sector's number is first marked as handed out. A manager that forgot what it
// handed out (a mock without --home restarted, a state DB restored from an old backup) would
// otherwise give the number again, and the worker still holding the first sector's files would
// seal a second one over them. Failing to mark it is logged, never returned: the caller's answer
// is the 11001.
func (s *Store) unknown(sid abi.SectorID, err error) error {
	var coded *api.CodedError
	if !errors.As(err, &coded) || coded.Code != api.ErrCodeSectorStateNotFound {
		return err
	}
	if markErr := s.markHandedOut(sid); markErr != nil {
		log.Warnw("cannot mark the number of an unknown sector as used", "sector", api.FormatSectorID(sid), "err", markErr)
	}
	return err
}

// markHandedOut raises miner's last handed-out number to sid's, if it is below.
func (s *Store) markHandedOut(sid abi.SectorID) error {
	return s.db.Update(func(tx statedb.Txn) error {
		last, err := lastNumber(tx, sid.Miner)
		if err != nil || last >= uint64(sid.Number) {
			return err
		}
		return tx.Put(numberKey(sid.Miner), binary.AppendUvarint(nil, uint64(sid.Number)))
	})
}

// LastNumber is the last sector number handed out for miner, 0 if none was.
func (s *Store) LastNumber(miner abi.ActorID) (uint64, error) {
	return lastNumber(readOnly{s.db}, miner)
}

// readOnly lets the transaction helpers read outside a transaction; it never writes.
type readOnly struct{ db statedb.DB }

func (r readOnly) Get(key string) ([]byte, error) { return r.db.Get(key) }
func (r readOnly) Put(key string, value []byte) error {
	return fmt.Errorf("put %s outside a transaction", key)
}
func (r readOnly) Delete(key string) error {
	return fmt.Errorf("delete %s outside a transaction", key)
}

// Init creates the online state {ID, SectorType} of a sector numbered by NextNumber. A sector
// that has a state already, online or offline, is refused: `sector m-<miner>-n-<num> already
// initialized`.
func (s *Store) Init(sid abi.SectorID, proof abi.RegisteredSealProof) error {
	return s.db.Update(func(tx statedb.Txn) error {
		taken, err := exists(tx, sid)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("sector %s already initialized", Key(sid))
		}
		return put(tx, onlinePrefix+Key(sid), &api.SectorState{ID: sid, SectorType: proof})
	})
}
