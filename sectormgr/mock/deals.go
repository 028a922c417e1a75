package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// dealPrefix keys the mock market's deal table: one record per payload file name, so a restarted
// mock keeps every deal's id (files added later get new ids, none is reused).
const dealPrefix = "mock-deals/"

// dealClient is the client of every mock deal (the mock market has no clients of its own).
const dealClient = abi.ActorID(1000)

// dealDuration is the EndEpoch of every mock deal: 540 days of 30s epochs.
const dealDuration = abi.ChainEpoch(540 * 2880)

// deal is one deal of the mock market: a payload file of the pieces dir.
type deal struct {
	ID          abi.DealID
	Name        string // file name inside the pieces dir
	PayloadSize uint64
	Size        abi.PaddedPieceSize
	PieceCID    cid.Cid
	// path is where the payload is read from; "" when the file is gone.
	path string
}

// dealMarket hands out the deals of a pieces dir, each to one sector. Which deal went where is
// not stored apart: it is in the sector states (their Deals), so a sector and its deals change
// in one transaction, and a restart rebuilds the assignments from them.
type dealMarket struct {
	miner      abi.ActorID
	sectorSize abi.SectorSize

	// mu serialises picking deals and storing them in a sector, so no deal goes to two sectors.
	mu       sync.Mutex
	deals    []*deal // in id order
	byCID    map[cid.Cid]*deal
	assigned map[abi.DealID]abi.SectorID
}

// openMarket loads the deals of a pieces dir and which sectors hold them.
func openMarket(dir string, miner abi.ActorID, size abi.SectorSize, db statedb.DB, store *sectors.Store) (*dealMarket, error) {
	var states []*api.SectorState
	for _, ws := range []api.SectorWorkerState{api.WorkerOnline, api.WorkerOffline} {
		list, err := store.List(ws, api.SectorWorkerJobAll)
		if err != nil {
			return nil, err
		}
		states = append(states, list...)
	}
	dm, err := loadDeals(context.Background(), dir, miner, size, db, states)
	if err != nil {
		return nil, err
	}
	log.Infow("deals loaded", "dir", dir, "deals", len(dm.deals), "assigned", len(dm.assigned))
	return dm, nil
}

// loadDeals reads the pieces dir: every regular file is a deal payload. Deals get ids 1, 2, … in
// file name order on a fresh database; ids already in the database are kept.
func loadDeals(ctx context.Context, dir string, miner abi.ActorID, size abi.SectorSize, db statedb.DB, states []*api.SectorState) (*dealMarket, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (give a directory holding one file per deal payload)", err)
	}
	stored, err := loadDealTable(db)
	if err != nil {
		return nil, err
	}
	dm := &dealMarket{miner: miner, sectorSize: size, byCID: map[cid.Cid]*deal{}, assigned: map[abi.DealID]abi.SectorID{}}
	dm.assignedFrom(states)

	var next abi.DealID
	byName := map[string]*deal{}
	for _, d := range stored {
		byName[d.Name] = d
		next = max(next, d.ID)
	}
	var changed []*deal
	capacity := uint64(abi.PaddedPieceSize(size).Unpadded())
	// os.ReadDir sorts by file name.
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows symlinks
		if errors.Is(err, os.ErrNotExist) {
			log.Warnw("dangling symlink in the pieces dir skipped", "file", path)
			continue
		}
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		payload := uint64(fi.Size())
		if payload > capacity {
			return nil, fmt.Errorf("%s is %d bytes, more than a %s sector holds (%d bytes of data): remove it from the pieces dir or use a larger sector size",
				path, payload, size.ShortString(), capacity)
		}
		d, err := commitFile(ctx, path, payload)
		if err != nil {
			return nil, err
		}
		d.Name = e.Name()
		if old, ok := byName[d.Name]; ok {
			d.ID = old.ID
			if old.PieceCID != d.PieceCID {
				if sid, taken := dm.assigned[d.ID]; taken {
					// The deal was made with the old bytes: it keeps them, and the worker will find
					// the file does not match.
					log.Warnw("payload file changed after its deal went to a sector; the deal keeps its piece CID",
						"file", path, "deal", d.ID, "sector", api.FormatSectorID(sid), "deal-piece", old.PieceCID, "file-piece", d.PieceCID)
					d.PayloadSize, d.Size, d.PieceCID = old.PayloadSize, old.Size, old.PieceCID
				} else {
					changed = append(changed, d)
				}
			}
		} else {
			next++
			d.ID = next
			changed = append(changed, d)
		}
		byName[d.Name] = d
	}
	if err := storeDeals(db, changed); err != nil {
		return nil, err
	}
	for _, d := range byName {
		dm.deals = append(dm.deals, d)
		if d.path != "" {
			if _, dup := dm.byCID[d.PieceCID]; !dup {
				dm.byCID[d.PieceCID] = d
			}
		}
	}
	sort.Slice(dm.deals, func(i, j int) bool { return dm.deals[i].ID < dm.deals[j].ID })
	return dm, nil
}

// commitFile computes a payload file's piece: its size and CID.
func commitFile(ctx context.Context, path string, payload uint64) (*deal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := piece.SizeFor(payload)
	_, c, err := piece.CommP(ctx, f, payload, size)
	if err != nil {
		return nil, fmt.Errorf("piece commitment of %s: %w", path, err)
	}
	return &deal{PayloadSize: payload, Size: size, PieceCID: c, path: path}, nil
}

func loadDealTable(db statedb.DB) ([]*deal, error) {
	var out []*deal
	err := db.Scan(dealPrefix, func(key string, raw []byte) error {
		var d deal
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		out = append(out, &d)
		return nil
	})
	return out, err
}

func storeDeals(db statedb.DB, deals []*deal) error {
	if len(deals) == 0 {
		return nil
	}
	return db.Update(func(tx statedb.Txn) error {
		for _, d := range deals {
			raw, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := tx.Put(dealPrefix+d.Name, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// assignedFrom marks the deals held by sectors: online ones and finalized ones. An aborted
// sector's deals were released.
func (dm *dealMarket) assignedFrom(states []*api.SectorState) {
	for _, st := range states {
		if st.Finalized && st.AbortReason != "" {
			continue
		}
		for _, p := range st.Pieces {
			if p.ID != 0 {
				dm.assigned[p.ID] = st.ID
			}
		}
	}
}

// pick chooses deals that are not assigned yet for one sector, in id order (first fit), within
// spec.MaxDeals, each aligned to its size with pledge pieces, and fills the rest of the sector
// with pledge pieces, so the pieces fill it exactly. It returns nil when no deal fits, or when
// the deals use fewer than spec.MinUsedSpace (padded) bytes. dm.mu must be held.
func (dm *dealMarket) pick(spec api.AcquireDealsSpec) api.Deals {
	total := abi.PaddedPieceSize(dm.sectorSize)
	var (
		pieces api.Deals
		offset abi.PaddedPieceSize
		used   uint64
		count  uint
	)
	for _, d := range dm.deals {
		if spec.MaxDeals != nil && count >= *spec.MaxDeals {
			break
		}
		if _, taken := dm.assigned[d.ID]; taken || d.path == "" {
			continue
		}
		pad := piece.AlignmentPadding(offset, d.Size)
		if offset+pad+d.Size > total {
			continue
		}
		pieces = append(pieces, pledgePieces(offset, pad)...)
		pieces = append(pieces, dm.dealInfo(d))
		offset += pad + d.Size
		used += uint64(d.Size)
		count++
	}
	if count == 0 || (spec.MinUsedSpace != nil && used < *spec.MinUsedSpace) {
		return nil
	}
	return append(pieces, pledgePieces(offset, total-offset)...)
}

// hasFree tells whether a deal is left to hand out. dm.mu must be held.
func (dm *dealMarket) hasFree() bool {
	for _, d := range dm.deals {
		if _, taken := dm.assigned[d.ID]; !taken && d.path != "" {
			return true
		}
	}
	return false
}

// assign records that sid holds the deals of pieces. dm.mu must be held.
func (dm *dealMarket) assign(sid abi.SectorID, pieces api.Deals) {
	for _, p := range pieces {
		if p.ID != 0 {
			dm.assigned[p.ID] = sid
		}
	}
}

// release makes the deals sid held available again. dm.mu must be held.
func (dm *dealMarket) release(sid abi.SectorID, pieces api.Deals) {
	for _, p := range pieces {
		if p.ID != 0 && dm.assigned[p.ID] == sid {
			delete(dm.assigned, p.ID)
		}
	}
}

func (dm *dealMarket) dealInfo(d *deal) api.DealInfo {
	provider, _ := address.NewIDAddress(uint64(dm.miner))
	client, _ := address.NewIDAddress(uint64(dealClient))
	label, err := market.NewLabelFromString(d.Name)
	if err != nil || !utf8.ValidString(d.Name) {
		label = market.EmptyDealLabel
	}
	return api.DealInfo{
		ID:          d.ID,
		PayloadSize: d.PayloadSize,
		Piece:       api.PieceInfo{Size: d.Size, Cid: d.PieceCID},
		Proposal: &market.DealProposal{
			PieceCID:             d.PieceCID,
			PieceSize:            d.Size,
			Client:               client,
			Provider:             provider,
			Label:                label,
			StartEpoch:           0,
			EndEpoch:             dealDuration,
			StoragePricePerEpoch: big.Zero(),
			ProviderCollateral:   big.Zero(),
			ClientCollateral:     big.Zero(),
		},
	}
}

// pledgePieces fills gap padded bytes from offset with pledge (zero) pieces, smallest first, each
// aligned to its size: the standard filler rule (lotus GetRequiredPadding / fillersFromRem).
func pledgePieces(offset, gap abi.PaddedPieceSize) api.Deals {
	var out api.Deals
	for rest := uint64(gap); rest != 0; {
		size := abi.PaddedPieceSize(rest & -rest) // the lowest set bit
		rest -= uint64(size)
		comm, err := piece.ZeroCommitment(size)
		if err != nil {
			// Gaps are multiples of 128 bytes between aligned pieces of valid sizes.
			panic(fmt.Sprintf("pledge piece of %d bytes at %d: %v", size, offset, err))
		}
		out = append(out, api.DealInfo{
			ID:          0,
			PayloadSize: uint64(size.Unpadded()),
			Piece:       api.PieceInfo{Size: size, Cid: piece.CID(comm)},
		})
		offset += size
	}
	return out
}

// unsealedCommD is the CommD of a sector holding pieces, or of an empty sector for none.
func unsealedCommD(size abi.SectorSize, pieces api.Deals) ([32]byte, error) {
	ps := make([]piece.Piece, len(pieces))
	for i, p := range pieces {
		comm, err := piece.FromCID(p.Piece.Cid)
		if err != nil {
			return [32]byte{}, fmt.Errorf("piece #%d (deal %d): %w", i, p.ID, err)
		}
		ps[i] = piece.Piece{Commitment: comm, Size: p.Piece.Size}
	}
	return piece.UnsealedCommitment(size, ps)
}

func dealIDs(pieces api.Deals) []abi.DealID {
	var ids []abi.DealID
	for _, p := range pieces {
		if p.ID != 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// AcquireDeals gives the sector deals of the pieces dir (mock --pieces-dir) that no sector holds
// yet, with pledge pieces around them so they fill the sector, and keeps them in its state; a
// repeat returns the stored pieces. Without deals left (or without a pieces dir) it answers null:
// the sector is a CC sector.
func (m *Mock) AcquireDeals(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec) (api.Deals, error) {
	log.Debugw("AcquireDeals", "sector", api.FormatSectorID(sid), "spec", spec)
	st, err := m.sectors.Online(sid)
	if err != nil {
		return nil, err
	}
	if len(st.Pieces) > 0 {
		return st.Pieces, nil
	}
	if m.market == nil {
		return nil, nil
	}
	m.market.mu.Lock()
	defer m.market.mu.Unlock()
	pieces := m.market.pick(spec)
	if pieces == nil {
		return nil, nil
	}
	err = m.withOnline(sid, func(st *api.SectorState) error {
		if len(st.Pieces) > 0 {
			pieces = st.Pieces // a repeat that raced this call
			return nil
		}
		st.Pieces = pieces
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.market.assign(sid, pieces)
	log.Infow("deals acquired", "sector", api.FormatSectorID(sid), "deals", dealIDs(pieces), "pieces", len(pieces))
	return pieces, nil
}

// ReportAborted moves an aborted sector offline, as the state API does, and releases its deals so
// another sector can take them.
func (m *Mock) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	if err := m.API.ReportAborted(ctx, sid, reason); err != nil {
		return err
	}
	if m.market == nil {
		return nil
	}
	st, err := m.sectors.Find(api.WorkerOffline, sid)
	if err != nil || st.AbortReason == "" {
		return nil
	}
	m.market.mu.Lock()
	defer m.market.mu.Unlock()
	m.market.release(sid, st.Pieces)
	return nil
}

// PieceStoreHandler serves GET /piecestore/<piece cid> with the payload of the deal with that
// piece CID (spec/sector-manager.md §4.9): 405 for another method, 400 for an invalid CID, 404
// for a CID that is no deal's. Mount it at /piecestore/.
func (m *Mock) PieceStoreHandler() http.Handler {
	return http.HandlerFunc(m.servePiece)
}

func (m *Mock) servePiece(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, fmt.Sprintf("method %s not allowed: use GET", r.Method), http.StatusMethodNotAllowed)
		return
	}
	raw := strings.TrimPrefix(r.URL.Path, "/piecestore/")
	c, err := cid.Decode(raw)
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid piece cid %q: %v", raw, err), http.StatusBadRequest)
		return
	}
	var d *deal
	if m.market != nil {
		d = m.market.byCID[c] // written only in New
	}
	if d == nil {
		http.Error(w, fmt.Sprintf("piece %s not found: no deal has it", c), http.StatusNotFound)
		return
	}
	f, err := os.Open(d.path)
	if errors.Is(err, os.ErrNotExist) {
		http.Error(w, fmt.Sprintf("piece %s not found: its payload file %s is gone", c, d.path), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("piece %s: %v", c, err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, fmt.Sprintf("piece %s: %v", c, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
	if _, err := io.Copy(w, f); err != nil {
		log.Warnw("serve piece", "piece", c, "deal", d.ID, "err", err)
	}
}
