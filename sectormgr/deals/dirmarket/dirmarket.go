// Package dirmarket is the deal manager of `mock --pieces-dir`: every regular file of a directory
// is the payload of one deal, handed to one sector at a time with the filler pieces that
// complete it, and its bytes are served to workers at /piecestore/<piece cid>
// (spec/sector-manager.md §4.9).
package dirmarket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("dirmarket")

// dealPrefix keys the deal table: one record per payload file name, so a restart keeps every
// deal's id (files added later get new ids, none is reused). It is the key the mock has always
// used, so existing mock homes keep their deals.
const dealPrefix = "mock-deals/"

// DealClient is the client of every deal (the directory has no clients of its own).
const DealClient = abi.ActorID(1000)

// DealDuration is the EndEpoch of every deal: 540 days of 30s epochs.
const DealDuration = abi.ChainEpoch(540 * 2880)

// deal is one payload file of the directory.
type deal struct {
	ID          abi.DealID
	Name        string // file name inside the directory
	PayloadSize uint64
	Size        abi.PaddedPieceSize
	PieceCID    cid.Cid
	// path is where the payload is read from; "" when the file is gone.
	path string
}

// Market hands out the deals of a directory to the sectors of one miner, each deal to one sector.
// Which deal went where is not stored apart: it is in the sector states (their Deals), which
// Open reads back, so a restart rebuilds the assignments. It is safe for concurrent use.
type Market struct {
	miner      abi.ActorID
	sectorSize abi.SectorSize

	// mu serialises picking deals and recording who holds them, so no deal goes to two sectors.
	mu       sync.Mutex
	deals    []*deal // in id order
	assigned map[abi.DealID]abi.SectorID

	// byCID is written only in Open.
	byCID map[cid.Cid]*deal
}

var _ deals.Manager = (*Market)(nil)

// Open loads the deals of dir for miner's sectors of size: every regular file is a deal payload.
// Deals get ids 1, 2, … in file name order on a fresh database; ids already in db are kept. The
// sectors of store (online, and finalized offline ones) keep the deals they hold; an aborted
// sector's deals are free again.
func Open(dir string, miner abi.ActorID, size abi.SectorSize, db statedb.DB, store *sectors.Store) (*Market, error) {
	var states []*api.SectorState
	for _, ws := range []api.SectorWorkerState{api.WorkerOnline, api.WorkerOffline} {
		list, err := store.List(ws, api.SectorWorkerJobAll)
		if err != nil {
			return nil, err
		}
		states = append(states, list...)
	}
	m, err := load(context.Background(), dir, miner, size, db, states)
	if err != nil {
		return nil, err
	}
	log.Infow("deals loaded", "dir", dir, "deals", len(m.deals), "assigned", len(m.assigned))
	return m, nil
}

func load(ctx context.Context, dir string, miner abi.ActorID, size abi.SectorSize, db statedb.DB, states []*api.SectorState) (*Market, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (give a directory holding one file per deal payload)", err)
	}
	stored, err := loadDealTable(db)
	if err != nil {
		return nil, err
	}
	m := &Market{miner: miner, sectorSize: size, byCID: map[cid.Cid]*deal{}, assigned: map[abi.DealID]abi.SectorID{}}
	m.assignedFrom(states)

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
				if sid, taken := m.assigned[d.ID]; taken {
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
		m.deals = append(m.deals, d)
		if d.path != "" {
			if _, dup := m.byCID[d.PieceCID]; !dup {
				m.byCID[d.PieceCID] = d
			}
		}
	}
	sort.Slice(m.deals, func(i, j int) bool { return m.deals[i].ID < m.deals[j].ID })
	return m, nil
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

func storeDeals(db statedb.DB, list []*deal) error {
	if len(list) == 0 {
		return nil
	}
	return db.Update(func(tx statedb.Txn) error {
		for _, d := range list {
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
func (m *Market) assignedFrom(states []*api.SectorState) {
	for _, st := range states {
		if st.Finalized && st.AbortReason != "" {
			continue
		}
		for _, p := range st.Pieces {
			if p.ID != 0 {
				m.assigned[p.ID] = st.ID
			}
		}
	}
}

// Acquire assigns sid the deals no sector holds yet, in id order (first fit), within
// spec.MaxDeals, each aligned to its size with filler pieces, and fills the rest of the sector
// with filler pieces, so the pieces fill it exactly. It returns nil when no deal fits, when the
// deals would use fewer than spec.MinUsedSpace (padded) bytes, or for another miner's sector.
// The deals have no epochs to match, so lifetime is not used; job neither.
func (m *Market) Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *deals.Lifetime, job deals.Job) (api.Deals, error) {
	if sid.Miner != m.miner {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	pieces := m.pick(spec)
	for _, p := range pieces {
		if p.ID != 0 {
			m.assigned[p.ID] = sid
		}
	}
	return pieces, nil
}

// Release makes the deals sid held available again.
func (m *Market) Release(ctx context.Context, sid abi.SectorID, pieces api.Deals) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range pieces {
		if p.ID != 0 && m.assigned[p.ID] == sid {
			delete(m.assigned, p.ID)
		}
	}
	return nil
}

// HasFree tells whether a deal is left to hand out.
func (m *Market) HasFree() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.deals {
		if _, taken := m.assigned[d.ID]; !taken && d.path != "" {
			return true
		}
	}
	return false
}

// pick chooses the pieces of one sector; see Acquire. m.mu must be held.
func (m *Market) pick(spec api.AcquireDealsSpec) api.Deals {
	total := abi.PaddedPieceSize(m.sectorSize)
	var (
		pieces api.Deals
		offset abi.PaddedPieceSize
		used   uint64
		count  uint
	)
	for _, d := range m.deals {
		if spec.MaxDeals != nil && count >= *spec.MaxDeals {
			break
		}
		if _, taken := m.assigned[d.ID]; taken || d.path == "" {
			continue
		}
		pad := piece.AlignmentPadding(offset, d.Size)
		if offset+pad+d.Size > total {
			continue
		}
		pieces = append(pieces, fillerPieces(offset, pad)...)
		pieces = append(pieces, m.dealInfo(d))
		offset += pad + d.Size
		used += uint64(d.Size)
		count++
	}
	if count == 0 || (spec.MinUsedSpace != nil && used < *spec.MinUsedSpace) {
		return nil
	}
	return append(pieces, fillerPieces(offset, total-offset)...)
}

func (m *Market) dealInfo(d *deal) api.DealInfo {
	provider, _ := address.NewIDAddress(uint64(m.miner))
	client, _ := address.NewIDAddress(uint64(DealClient))
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
			EndEpoch:             DealDuration,
			StoragePricePerEpoch: big.Zero(),
			ProviderCollateral:   big.Zero(),
			ClientCollateral:     big.Zero(),
		},
	}
}

// fillerPieces fill gap padded bytes from offset with filler (zero) pieces, smallest first,
// each aligned to its size: the standard filler rule (lotus GetRequiredPadding / fillersFromRem).
func fillerPieces(offset, gap abi.PaddedPieceSize) api.Deals {
	var out api.Deals
	for rest := uint64(gap); rest != 0; {
		size := abi.PaddedPieceSize(rest & -rest) // the lowest set bit
		rest -= uint64(size)
		comm, err := piece.ZeroCommitment(size)
		if err != nil {
			// Gaps are multiples of 128 bytes between aligned pieces of valid sizes.
			panic(fmt.Sprintf("filler piece of %d bytes at %d: %v", size, offset, err))
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
