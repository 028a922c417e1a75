// Package sectors is the manager's sector state store (spec/sector-manager.md §4.2): online
// states of sectors being sealed, offline states of finalized and aborted ones, every sector's
// report history, and the per-miner number counters. Each change is one statedb transaction, so
// a sector moves between stores, and a number is handed out together with its state, atomically.
package sectors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	onlinePrefix     = "sector-states/"
	offlinePrefix    = "sector-states-offline/"
	historyPrefix    = "sector-history/"
	historyLenPrefix = "sector-history-len/"
	// numberPrefix keeps the original's double slash (a prefix joined to a key starting with "/").
	numberPrefix = "sector-number//"
)

// Store keeps sector states in a statedb. It is safe for concurrent use: every change is a
// read-modify-write inside one transaction, and transactions are serialised.
type Store struct {
	db  statedb.DB
	now func() time.Time
}

// Option changes a Store.
type Option func(*Store)

// WithClock replaces time.Now as the clock of history entries (tests).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// New returns the store kept in db.
func New(db statedb.DB, opts ...Option) *Store {
	s := &Store{db: db, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Key is a sector's key in each store: m-<miner>-n-<number>.
func Key(sid abi.SectorID) string {
	return fmt.Sprintf("m-%d-n-%d", sid.Miner, sid.Number)
}

func storeKey(ws api.SectorWorkerState, sid abi.SectorID) string {
	if ws == api.WorkerOffline {
		return offlinePrefix + Key(sid)
	}
	return onlinePrefix + Key(sid)
}

func numberKey(miner abi.ActorID) string {
	return fmt.Sprintf("%sm-%d", numberPrefix, miner)
}

// notInStore is what FindSector answers for a missing sector: code 11001, naming the sector and
// the store, so a caller can tell "not there" from a failure.
func notInStore(ws api.SectorWorkerState, sid abi.SectorID) error {
	return &api.CodedError{
		Code:    api.ErrCodeSectorStateNotFound,
		Message: fmt.Sprintf("sector %s not found in the %s store", api.FormatSectorID(sid), ws),
	}
}

// Allocate hands out the next sector number of miner and creates the sector's online state, in
// one transaction: once it returns, the number is durable and never handed out again. Numbers
// start at 1; a number that already has a state (e.g. an imported sector) is skipped.
func (s *Store) Allocate(miner abi.ActorID, proof abi.RegisteredSealProof) (abi.SectorID, error) {
	sid, _, err := s.AllocateUpTo(miner, proof, 0)
	return sid, err
}

// AllocateUpTo is Allocate with a ceiling: no number above max is handed out (0: no ceiling).
// ok is false, and nothing changes, when the next free number would be above max.
func (s *Store) AllocateUpTo(miner abi.ActorID, proof abi.RegisteredSealProof, max uint64) (sid abi.SectorID, ok bool, err error) {
	err = s.db.Update(func(tx statedb.Txn) error {
		last, err := lastNumber(tx, miner)
		if err != nil {
			return err
		}
		for {
			last++
			sid = abi.SectorID{Miner: miner, Number: abi.SectorNumber(last)}
			taken, err := exists(tx, sid)
			if err != nil {
				return err
			}
			if !taken {
				break
			}
		}
		if max > 0 && last > max {
			return nil
		}
		ok = true
		if err := tx.Put(numberKey(miner), binary.AppendUvarint(nil, last)); err != nil {
			return err
		}
		return put(tx, onlinePrefix+Key(sid), &api.SectorState{ID: sid, SectorType: proof})
	})
	if err != nil || !ok {
		return abi.SectorID{}, false, err
	}
	return sid, true, nil
}

func lastNumber(tx statedb.Txn, miner abi.ActorID) (uint64, error) {
	raw, err := tx.Get(numberKey(miner))
	if errors.Is(err, statedb.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, size := binary.Uvarint(raw)
	if size <= 0 {
		return 0, fmt.Errorf("corrupt sector number counter %s: %x", numberKey(miner), raw)
	}
	return n, nil
}

func exists(tx statedb.Txn, sid abi.SectorID) (bool, error) {
	for _, key := range []string{onlinePrefix + Key(sid), offlinePrefix + Key(sid)} {
		_, err := tx.Get(key)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, statedb.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// Online returns the online state of sid. A sector that is not online gives the 11001 error
// itself, never wrapped: go-jsonrpc sends the code of the outermost error only, and 11001 is
// what tells a worker to abort the sector.
func (s *Store) Online(sid abi.SectorID) (*api.SectorState, error) {
	st, err := s.load(api.WorkerOnline, sid)
	if errors.Is(err, statedb.ErrNotFound) {
		return nil, s.unknown(sid, api.ErrSectorStateNotFound())
	}
	return st, err
}

// Update changes the online state of sid with fn inside one transaction; nothing is written if fn
// fails or leaves the state as it was. A sector that is not online gives the 11001 error,
// unwrapped (see Online).
func (s *Store) Update(sid abi.SectorID, fn func(st *api.SectorState) error) error {
	return s.unknown(sid, s.db.Update(func(tx statedb.Txn) error {
		return updateOnline(tx, sid, fn)
	}))
}

func updateOnline(tx statedb.Txn, sid abi.SectorID, fn func(st *api.SectorState) error) error {
	key := onlinePrefix + Key(sid)
	st, raw, err := loadState(tx, key)
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		return err
	}
	value, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if bytes.Equal(value, raw) {
		return nil
	}
	return tx.Put(key, value)
}

// Find returns the state of sid in one store; a missing sector is a code 11001 error naming the
// sector and the store.
func (s *Store) Find(ws api.SectorWorkerState, sid abi.SectorID) (*api.SectorState, error) {
	if err := ws.Check(); err != nil {
		return nil, err
	}
	st, err := s.load(ws, sid)
	if errors.Is(err, statedb.ErrNotFound) {
		return nil, notInStore(ws, sid)
	}
	return st, err
}

func (s *Store) load(ws api.SectorWorkerState, sid abi.SectorID) (*api.SectorState, error) {
	key := storeKey(ws, sid)
	raw, err := s.db.Get(key)
	if err != nil {
		return nil, err
	}
	return decode(key, raw)
}

// List returns the states of one store in key order (lexicographic: n-1, n-10, n-2), filtered by
// job.
func (s *Store) List(ws api.SectorWorkerState, job api.SectorWorkerJob) ([]*api.SectorState, error) {
	if err := ws.Check(); err != nil {
		return nil, err
	}
	if err := job.Check(); err != nil {
		return nil, err
	}
	prefix := onlinePrefix
	if ws == api.WorkerOffline {
		prefix = offlinePrefix
	}
	var out []*api.SectorState
	err := s.db.Scan(prefix, func(key string, raw []byte) error {
		st, err := decode(key, raw)
		if err != nil {
			return err
		}
		if job.Matches(st) {
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// Caps of a state report, in bytes: a worker's report is kept twice (latest state and history),
// for as long as the sector, so its size is bounded whatever a caller sends. Longer values are
// cut at a character boundary and marked.
const (
	// MaxFailureDesc bounds Failure.Desc: room for a processor's error with its output.
	MaxFailureDesc = 64 << 10
	// MaxReportField bounds every other string of a report (names, states, levels).
	MaxReportField = 1 << 10
)

// capReport is req with its strings cut to the caps.
func capReport(req api.ReportStateReq) api.ReportStateReq {
	req.Worker.Instance = truncate(req.Worker.Instance, MaxReportField)
	req.Worker.Location = truncate(req.Worker.Location, MaxReportField)
	req.StateChange.Prev = truncate(req.StateChange.Prev, MaxReportField)
	req.StateChange.Next = truncate(req.StateChange.Next, MaxReportField)
	req.StateChange.Event = truncate(req.StateChange.Event, MaxReportField)
	if req.Failure != nil {
		f := *req.Failure
		f.Level = truncate(f.Level, MaxReportField)
		f.Desc = truncate(f.Desc, MaxFailureDesc)
		req.Failure = &f
	}
	return req
}

// truncate cuts s to at most limit bytes, the marker included, without splitting a UTF-8 sequence.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	marker := fmt.Sprintf("… [%d bytes cut]", len(s))
	end := max(0, limit-len(marker))
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + marker
}

// ReportState keeps req as the sector's latest state and appends it to the sector's history, in
// one transaction. Its strings are capped first (MaxFailureDesc, MaxReportField).
func (s *Store) ReportState(sid abi.SectorID, req api.ReportStateReq) error {
	req = capReport(req)
	entry := api.SectorHistoryEntry{Time: s.now().UTC(), Worker: req.Worker, StateChange: req.StateChange, Failure: req.Failure}
	return s.unknown(sid, s.db.Update(func(tx statedb.Txn) error {
		err := updateOnline(tx, sid, func(st *api.SectorState) error {
			st.LatestState = &req
			return nil
		})
		if err != nil {
			return err
		}
		return appendHistory(tx, sid, entry)
	}))
}

// appendHistory adds one entry to a sector's history without reading the rest of it: entry n is
// at sector-history/<key>/<n, zero-padded>, and sector-history-len/<key> counts them, so a report
// costs the same however long the history is.
func appendHistory(tx statedb.Txn, sid abi.SectorID, entry api.SectorHistoryEntry) error {
	lenKey := historyLenPrefix + Key(sid)
	n := uint64(0)
	raw, err := tx.Get(lenKey)
	switch {
	case err == nil:
		if n, err = strconv.ParseUint(string(raw), 10, 64); err != nil {
			return fmt.Errorf("decode %s: %w", lenKey, err)
		}
	case !errors.Is(err, statedb.ErrNotFound):
		return err
	}
	value, err := json.Marshal(entry)
	if err != nil {
		return fmt.Errorf("encode history entry of %s: %w", api.FormatSectorID(sid), err)
	}
	if err := tx.Put(historyEntryKey(sid, n), value); err != nil {
		return err
	}
	return tx.Put(lenKey, []byte(strconv.FormatUint(n+1, 10)))
}

func historyEntryKey(sid abi.SectorID, n uint64) string {
	return fmt.Sprintf("%s%s/%020d", historyPrefix, Key(sid), n)
}

// History returns every state report of sid, oldest first; nil if there is none.
func (s *Store) History(sid abi.SectorID) ([]api.SectorHistoryEntry, error) {
	var history []api.SectorHistoryEntry
	err := s.db.Scan(historyPrefix+Key(sid)+"/", func(key string, value []byte) error {
		var e api.SectorHistoryEntry
		if err := json.Unmarshal(value, &e); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		history = append(history, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", api.FormatSectorID(sid), err)
	}
	return history, nil
}

// Finalize ends the online life of a sealed sector: it moves to the offline store with
// Finalized=true. An upgraded (snap-up) sector is left online: the snap-up committer finalizes it.
//
// A repeat is acknowledged: a sector already finalized (offline, no abort reason) gives nil, so a
// worker whose first ReportFinalized was applied but whose reply was lost (a crash, a dropped
// connection) gets its retry acknowledged instead of 11001, which would make it abort a finished
// sector. A sector that is missing or was aborted still gives 11001.
func (s *Store) Finalize(sid abi.SectorID) error {
	return s.moveOffline(sid,
		func(st *api.SectorState) bool { return !st.Upgraded },
		func(off *api.SectorState) bool { return off.AbortReason == "" })
}

// Abort moves a sector to the offline store with Finalized=true and the reason, which tells an
// aborted sector from a finalized one.
//
// A repeat is acknowledged as Finalize's is: a sector already aborted gives nil and keeps its
// first reason. A finalized sector cannot be aborted afterwards (11001).
func (s *Store) Abort(sid abi.SectorID, reason string) error {
	return s.moveOffline(sid,
		func(st *api.SectorState) bool {
			st.AbortReason = reason
			return true
		},
		func(off *api.SectorState) bool { return off.AbortReason != "" })
}

// moveOffline moves the online state of sid to the offline store if hook says so, in one
// transaction. A sector that is not online gives nil when it is offline already and done says
// the earlier move is the one asked for again; otherwise the 11001 error, unwrapped.
func (s *Store) moveOffline(sid abi.SectorID, hook func(st *api.SectorState) (move bool), done func(off *api.SectorState) bool) error {
	return s.unknown(sid, s.db.Update(func(tx statedb.Txn) error {
		key := onlinePrefix + Key(sid)
		raw, err := tx.Get(key)
		if errors.Is(err, statedb.ErrNotFound) {
			return alreadyOffline(tx, sid, done)
		}
		if err != nil {
			return err
		}
		st, err := decode(key, raw)
		if err != nil {
			return err
		}
		if !hook(st) {
			return nil
		}
		st.Finalized = true
		if err := put(tx, offlinePrefix+Key(sid), st); err != nil {
			return err
		}
		return tx.Delete(key)
	}))
}

// alreadyOffline answers a move of a sector that is not online: nil when its offline state shows
// the same move was made before, else the unwrapped 11001 error.
func alreadyOffline(tx statedb.Txn, sid abi.SectorID, done func(off *api.SectorState) bool) error {
	st, _, err := loadState(tx, offlinePrefix+Key(sid))
	if err != nil {
		return err
	}
	if !done(st) {
		return api.ErrSectorStateNotFound()
	}
	return nil
}

// Restore moves an offline sector back online with Finalized=false. Unless forced, only an
// aborted sector without deals may come back, and its abort reason is cleared; forced skips the
// checks and changes nothing else.
func (s *Store) Restore(sid abi.SectorID, forced bool) error {
	missing := fmt.Sprintf("load state from offline: sector %s not found (only a finalized or aborted sector can be restored)", api.FormatSectorID(sid))
	return s.reopen(sid, missing, func(st *api.SectorState) error {
		if forced {
			return nil
		}
		if len(st.Pieces) != 0 {
			return errors.New("sector with deals can not be normally restored")
		}
		if st.AbortReason == "" {
			return errors.New("sector is not aborted, can not be normally restored")
		}
		st.AbortReason = ""
		return nil
	})
}

// reopen moves an offline sector back online after fn changed it, in one transaction, with
// Finalized=false. Nothing changes if fn fails; its error is returned as it is. missing is the
// error for a sector that is not offline.
func (s *Store) reopen(sid abi.SectorID, missing string, fn func(st *api.SectorState) error) error {
	return s.db.Update(func(tx statedb.Txn) error {
		key := offlinePrefix + Key(sid)
		raw, err := tx.Get(key)
		if errors.Is(err, statedb.ErrNotFound) {
			return errors.New(missing)
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

// loadState reads a sector state and its encoding in a transaction; a missing one is the
// unwrapped 11001.
func loadState(tx statedb.Txn, key string) (*api.SectorState, []byte, error) {
	raw, err := tx.Get(key)
	if errors.Is(err, statedb.ErrNotFound) {
		return nil, nil, api.ErrSectorStateNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := decode(key, raw)
	return st, raw, err
}

func put(tx statedb.Txn, key string, st *api.SectorState) error {
	value, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return tx.Put(key, value)
}

func decode(key string, raw []byte) (*api.SectorState, error) {
	var st api.SectorState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return &st, nil
}

// IsOrphan says whether nothing but its allocation ever touched st: no reported state, no
// ticket, no deals, neither an upgrade nor an import. A worker saves its job and reports it right
// after AllocateSector returns, so a sector that stays like this was handed to a worker that died
// before saving it, and no worker will ever seal it.
func IsOrphan(st *api.SectorState) bool {
	return st.LatestState == nil && st.Ticket == nil && len(st.Pieces) == 0 && !st.Upgraded && !st.Imported
}
