// Package mock is the manager behind `venus-sector-manager mock`: the production manager's
// modules (sectormgr/manager) over an in-process simulated chain (sectormgr/simchain) that
// verifies the worker's mock proofs (api/mockproof), with permissive persist stores, the
// --pieces-dir market (sectormgr/deals/dirmarket) and a snap-up module of its own. Unlike the
// original mock it keeps sector states and the worker registry, so the operator's util commands
// work against it; they live in a statedb, in memory by default or durable under a home
// (`mock --home`), and the chain beside them in <home>/simchain.json.
package mock

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals/dirmarket"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/manager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("mock")

var _ api.ManagerAPI = (*Mock)(nil)

// StateFileName is the simulated chain's file inside a mock home.
const StateFileName = "simchain.json"

// Mock is the production manager for one miner and one sector size over a simulated chain. It
// is safe for concurrent use.
type Mock struct {
	*manager.Manager

	miner      abi.ActorID
	sectorSize abi.SectorSize
	proofType  abi.RegisteredSealProof

	chain   *simchain.Chain
	built   *manager.Built
	sectors *sectors.Store
	market  *dirmarket.Market // nil without --pieces-dir
	stop    context.CancelFunc
}

type options struct {
	db         statedb.DB
	stateFile  string
	now        func() time.Time
	seedDelay  time.Duration
	maxSectors uint64
	piecesDir  string
	orphans    time.Duration
	poster     bool
	epoch      time.Duration
	stores     []config.PersistStoreConfig
}

// Option changes how New builds the mock.
type Option func(*options)

// WithDB keeps the mock's state in db (e.g. statedb.OpenHome) instead of in memory. The caller
// closes db after the mock is closed. A db on disk wants WithStateFile too, or the simulated
// chain starts afresh at every run.
func WithDB(db statedb.DB) Option {
	return func(o *options) { o.db = db }
}

// WithStateFile keeps the simulated chain in path (written after every epoch, crash-safe),
// so a restarted mock finds its pre-commits and sectors on chain.
func WithStateFile(path string) Option {
	return func(o *options) { o.stateFile = path }
}

// WithHome is WithStateFile(<home>/simchain.json).
func WithHome(home string) Option {
	return WithStateFile(filepath.Join(home, StateFileName))
}

// WithClock replaces time.Now for ping stamps and history entries (tests).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithSeedDelay makes a sector wait about d between its pre-commit landing and its seed, as a
// chain makes a sector wait for its interactive seed (150 epochs on mainnet): the simulated chain
// mines one epoch a second (or one every WithPoster epoch) and its challenge delay is d rounded up to whole epochs.
func WithSeedDelay(d time.Duration) Option {
	return func(o *options) { o.seedDelay = d }
}

// WithMaxSectors makes AllocateSector answer null once the miner's sector numbers reach n, so a
// cluster runs down to quiescence (tests and soaks). The limit counts numbers handed out before
// a restart too; 0 means no limit.
func WithMaxSectors(n uint64) Option {
	return func(o *options) { o.maxSectors = n }
}

// WithPiecesDir makes every regular file of dir a deal payload (mock --pieces-dir): AcquireDeals
// and AllocateSanpUpSector hand the deals out, and PieceStoreHandler serves their bytes. Each
// file's piece CID is computed in New; deal ids are 1, 2, … in file name order, and are kept in
// the database, so a restart keeps them and a file added later gets the next id.
func WithPiecesDir(dir string) Option {
	return func(o *options) { o.piecesDir = dir }
}

// WithOrphanTimeout aborts the sectors that no worker calls about for d after their allocation
// (manager.DefaultOrphanTimeout for the mock command; 0, the default here: never).
func WithOrphanTimeout(d time.Duration) Option {
	return func(o *options) { o.orphans = d }
}

// WithPoster runs the WindowPoSt scheduler (mock --poster) for the mock's miner, with a chain
// that mines one epoch every epoch (the proofs' deadlines are 60 epochs, so a short epoch shows
// a whole proving period in minutes). It wants WithPersistStores, the stores where the scheduler
// finds the sectors' files.
func WithPoster(epoch time.Duration) Option {
	return func(o *options) {
		o.poster = true
		if epoch > 0 {
			o.epoch = epoch
		}
	}
}

// WithEpoch sets the pace of a clocked chain (WithSeedDelay, WithPoster); default 1s.
func WithEpoch(d time.Duration) Option {
	return func(o *options) { o.epoch = d }
}

// WithPersistStores makes the mock know its workers' persist stores by name and path, as
// [[Common.PersistStores]] does for the production manager; without it every store name a
// worker gives is accepted and no file is looked at.
func WithPersistStores(stores []config.PersistStoreConfig) Option {
	return func(o *options) { o.stores = stores }
}

// New creates a mock manager that allocates sectors of sectorSize for miner. Close it to stop
// the simulated chain's clock (with WithSeedDelay) and the commitment manager.
func New(miner abi.ActorID, sectorSize abi.SectorSize, opts ...Option) (*Mock, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.db == nil {
		o.db = statedb.InMemory()
	}
	if o.poster && len(o.stores) == 0 {
		return nil, fmt.Errorf("the mock's WindowPoSt needs the persist stores, to check the sectors' files: give each worker's attached store as --persist-store NAME=PATH")
	}
	if o.epoch <= 0 {
		o.epoch = time.Second
	}
	proofType, err := api.SealProofForSize(sectorSize)
	if err != nil {
		return nil, err
	}
	m := &Mock{miner: miner, sectorSize: sectorSize, proofType: proofType}
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()
	if err := m.openChain(o); err != nil {
		return nil, err
	}
	m.sectors = sectors.New(o.db, sectors.WithClock(o.now))
	var dm deals.Manager = deals.NewNull()
	if o.piecesDir != "" {
		if m.market, err = dirmarket.Open(o.piecesDir, miner, sectorSize, o.db, m.sectors); err != nil {
			return nil, err
		}
		dm = publishedMarket{Market: m.market, chain: m.chain}
	}
	stores, err := openStores(o, m.sectors)
	if err != nil {
		return nil, err
	}
	confidence := abi.ChainEpoch(0)
	ctx, stop := context.WithCancel(context.Background())
	m.stop = stop
	m.built, err = manager.Build(ctx, manager.BuildOptions{
		Config:          config.NewLive("", mockConfig(miner, o)),
		DB:              o.db,
		Chain:           mineOnPush(m.chain, !o.clocked()),
		Sectors:         m.sectors,
		Stores:          stores,
		DealManager:     dm,
		PieceStore:      m.pieceStore(),
		Verifier:        sealverify.Mock{},
		SnapUp:          &snapUp{miner: miner, proofType: proofType, sectorSize: sectorSize, sectors: m.sectors, stores: stores, market: m.market},
		SeedConfidence:  &confidence,
		RegistryOptions: []registry.Option{registry.WithClock(o.now)},
		OrphanTimeout:   o.orphans,
		Now:             o.now,
		Poster:          o.poster,
		PostPoll:        o.epoch,
	})
	if err != nil {
		return nil, err
	}
	m.Manager = m.built.Manager
	if o.clocked() {
		go m.runClock(ctx, o.epoch)
	}
	ok = true
	return m, nil
}

// openChain opens the simulated chain and creates the miner on it (a chain loaded from its
// state file keeps the miner it has).
func (m *Mock) openChain(o options) error {
	opts := simchain.Options{PreCommitChallengeDelay: simchain.NoChallengeDelay, StateFile: o.stateFile, BlockDelaySecs: 1}
	if o.seedDelay > 0 {
		opts.PreCommitChallengeDelay = abi.ChainEpoch((o.seedDelay + o.epoch - 1) / o.epoch)
	}
	ch, err := simchain.Open(opts)
	if err != nil {
		return fmt.Errorf("simulated chain of the mock: %w", err)
	}
	m.chain = ch
	return ch.AddMiner(simchain.MinerSpec{Actor: m.miner, SectorSize: m.sectorSize})
}

// mockConfig is the config of the mock's one miner: messages from the simulated chain's default
// worker key, no batching (every message goes out at once), and a message counts as landed
// as soon as it is included.
func mockConfig(miner abi.ActorID, o options) *config.Config {
	mc := config.DefaultMinerConfig()
	mc.Actor = miner
	if o.maxSectors > 0 {
		n := o.maxSectors
		mc.Sector.MaxNumber = &n
	}
	mc.Sector.EnableDeals = o.piecesDir != ""
	sender := config.MustAddress(simchain.DefaultWorker(miner))
	mc.Commitment.Confidence = 0
	mc.Commitment.Pre.Sender = sender
	mc.Commitment.Prove.Sender = sender
	mc.Commitment.Pre.Batch.Enabled = false
	mc.Commitment.Prove.Batch.Enabled = false
	mc.PoSt.Enabled = o.poster
	mc.PoSt.Sender = sender
	mc.PoSt.Confidence = 0
	mc.PoSt.ChallengeConfidence = 0
	return &config.Config{Common: config.DefaultCommonConfig(), Miners: []config.MinerConfig{mc}}
}

// clocked: the chain mines an epoch every epoch, instead of one per message pushed, so that
// seeds wait (WithSeedDelay) and deadlines open and close (WithPoster).
func (o options) clocked() bool { return o.seedDelay > 0 || o.poster }

// openStores is persist.Open over the stores of WithPersistStores, or the store of any name.
func openStores(o options, sectorStore *sectors.Store) (*persist.Manager, error) {
	if len(o.stores) == 0 {
		return persist.OpenAny(o.db, sectorStore), nil
	}
	return persist.Open(o.stores, o.db, sectorStore)
}

// runClock mines one epoch every epoch, the pace WithSeedDelay and WithPoster promise.
func (m *Mock) runClock(ctx context.Context, epoch time.Duration) {
	if err := m.chain.Run(ctx, epoch); err != nil && ctx.Err() == nil {
		log.Errorw("simulated chain stopped mining", "err", err)
	}
}

// Close stops the manager's background work and the simulated chain. The mock answers no call
// after it.
func (m *Mock) Close() {
	if m.stop != nil {
		m.stop()
	}
	if m.built != nil {
		m.built.Close()
	}
	if m.chain != nil {
		m.chain.Close()
	}
}

// Miner is the miner actor the mock allocates sectors for.
func (m *Mock) Miner() abi.ActorID { return m.miner }

// ProofType is the seal proof of every sector the mock allocates.
func (m *Mock) ProofType() abi.RegisteredSealProof { return m.proofType }

// Chain is the simulated chain the mock runs on (tests).
func (m *Mock) Chain() *simchain.Chain { return m.chain }

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

// PieceStoreHandler serves GET /piecestore/<piece cid> with the payload of the deal with that
// piece CID (spec/sector-manager.md §4.9): 405 for another method, 400 for an invalid CID, 404
// for a CID that is no deal's. Mount it at /piecestore/.
func (m *Mock) PieceStoreHandler() http.Handler {
	return m.pieceStore()
}

func (m *Mock) pieceStore() http.Handler {
	if m.market != nil {
		return m.market.PieceStoreHandler()
	}
	return http.HandlerFunc(noPieces)
}
