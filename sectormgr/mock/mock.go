// Package mock is the manager behind `venus-sector-manager mock`: a mocked chain that allocates
// sectors, hands out per-sector tickets and seeds, and verifies the worker's mock proofs
// (api/mockproof). Unlike the original mock it keeps sector states and the worker registry, so
// the operator's util commands work against it; they live in a statedb, in memory by default or
// durable under a home (`mock --home`).
package mock

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/stateapi"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("mock")

var _ api.ManagerAPI = (*Mock)(nil)

// Mock is a manager for one miner and one sector size. It is safe for concurrent use. The
// state-keeping methods (reports, pings, listings, worker proxy) come from the embedded
// stateapi.API; the chain-facing ones are the mock's own.
type Mock struct {
	*stateapi.API

	miner      abi.ActorID
	sectorSize abi.SectorSize
	proofType  abi.RegisteredSealProof
	// zeroCommD is the CommD every CC sector of this size must pre-commit.
	zeroCommD [32]byte

	sectors *sectors.Store

	now       func() time.Time
	seedDelay time.Duration
	// maxSectors: no sector number above it is allocated (0: no limit).
	maxSectors uint64
	seedMu     sync.Mutex
	// seedAsked is when each sector first asked for its seed; lost at restart, like a wait.
	seedAsked map[abi.SectorID]time.Time

	// db holds what the mock keeps beside sector states: its deal table and sector index.
	db statedb.DB
	// market hands out the deals of --pieces-dir; nil without one (every sector is CC).
	market *dealMarket
}

type config struct {
	db         statedb.DB
	now        func() time.Time
	seedDelay  time.Duration
	maxSectors uint64
	piecesDir  string
}

// Option changes how New builds the mock.
type Option func(*config)

// WithDB keeps the mock's state in db (e.g. statedb.OpenHome) instead of in memory. The caller
// closes db after the mock is no longer served.
func WithDB(db statedb.DB) Option {
	return func(c *config) { c.db = db }
}

// WithClock replaces time.Now for ping stamps and history entries (tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithSeedDelay makes WaitSeed answer "wait" until d after a sector first asks for its seed, as
// a chain makes a sector wait for its interactive seed (150 epochs on mainnet).
func WithSeedDelay(d time.Duration) Option {
	return func(c *config) { c.seedDelay = d }
}

// WithMaxSectors makes AllocateSector answer null once the miner's sector numbers reach n, so a
// cluster runs down to quiescence (tests and soaks). The limit counts numbers handed out before
// a restart too; 0 means no limit.
func WithMaxSectors(n uint64) Option {
	return func(c *config) { c.maxSectors = n }
}

// WithPiecesDir makes every regular file of dir a deal payload (mock --pieces-dir): AcquireDeals
// and AllocateSanpUpSector hand the deals out, and PieceStoreHandler serves their bytes. Each
// file's piece CID is computed in New; deal ids are 1, 2, … in file name order, and are kept in
// the database, so a restart keeps them and a file added later gets the next id.
func WithPiecesDir(dir string) Option {
	return func(c *config) { c.piecesDir = dir }
}

// New creates a mock manager that allocates sectors of sectorSize for miner.
func New(miner abi.ActorID, sectorSize abi.SectorSize, opts ...Option) (*Mock, error) {
	cfg := config{now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.db == nil {
		cfg.db = statedb.InMemory()
	}
	proofType, err := api.SealProofForSize(sectorSize)
	if err != nil {
		return nil, err
	}
	zeroCommD, err := zeroPieceCommD(sectorSize)
	if err != nil {
		return nil, err
	}
	store := sectors.New(cfg.db, sectors.WithClock(cfg.now))
	var dm *dealMarket
	if cfg.piecesDir != "" {
		if dm, err = openMarket(cfg.piecesDir, miner, sectorSize, cfg.db, store); err != nil {
			return nil, err
		}
	}
	return &Mock{
		API:        stateapi.New(store, registry.New(cfg.db, registry.WithClock(cfg.now))),
		miner:      miner,
		sectorSize: sectorSize,
		proofType:  proofType,
		zeroCommD:  zeroCommD,
		sectors:    store,
		now:        cfg.now,
		seedDelay:  cfg.seedDelay,
		maxSectors: cfg.maxSectors,
		db:         cfg.db,
		market:     dm,
		seedAsked:  map[abi.SectorID]time.Time{},
	}, nil
}

// zeroPieceCommD is the data commitment of a sector filled with zeros (a CC sector).
func zeroPieceCommD(size abi.SectorSize) ([32]byte, error) {
	var out [32]byte
	unpadded := abi.PaddedPieceSize(size).Unpadded()
	raw, err := commcid.CIDToDataCommitmentV1(zerocomm.ZeroPieceCommitment(unpadded))
	if err != nil {
		return out, fmt.Errorf("zero piece commitment of %d bytes: %w", uint64(size), err)
	}
	copy(out[:], raw)
	return out, nil
}

// Miner is the miner actor the mock allocates sectors for.
func (m *Mock) Miner() abi.ActorID { return m.miner }

// ProofType is the seal proof of every sector the mock allocates.
func (m *Mock) ProofType() abi.RegisteredSealProof { return m.proofType }

// Sector returns a sector's state and which store holds it.
func (m *Mock) Sector(sid abi.SectorID) (state api.SectorState, online bool, found bool) {
	for _, ws := range []api.SectorWorkerState{api.WorkerOnline, api.WorkerOffline} {
		if st, err := m.sectors.Find(ws, sid); err == nil {
			return *st, ws == api.WorkerOnline, true
		}
	}
	return api.SectorState{}, false, false
}

// Sectors returns the online (or offline) sector states in the key order of the original's
// store: lexicographic on m-<miner>-n-<number>, so n-10 comes before n-2.
func (m *Mock) Sectors(offline bool) []api.SectorState {
	ws := api.WorkerOnline
	if offline {
		ws = api.WorkerOffline
	}
	list, err := m.sectors.List(ws, api.SectorWorkerJobAll)
	if err != nil {
		log.Errorw("list sectors", "store", ws, "err", err)
	}
	out := make([]api.SectorState, 0, len(list))
	for _, st := range list {
		out = append(out, *st)
	}
	return out
}

// withOnline runs fn on the online record of sid and saves what fn changed, in one transaction;
// a sector that is not online gives 11001, which tells a worker to abort it.
func (m *Mock) withOnline(sid abi.SectorID, fn func(st *api.SectorState) error) error {
	return m.sectors.Update(sid, fn)
}

func randomness() abi.Randomness {
	b := make([]byte, 32)
	// crypto/rand.Read never fails on supported platforms (it aborts the process instead).
	_, _ = rand.Read(b)
	return b
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
