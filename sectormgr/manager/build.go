package manager

import (
	"context"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"net/http"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/allocator"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/commitment"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/piecestore"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/poster"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/randomness"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/stateapi"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/winning"
	"github.com/ipfs-force-community/venus-cluster-go/version"
)

// FullNodeRPCPath is where a Lotus full node serves its v1 API.
const FullNodeRPCPath = "/rpc/v1"

// BuildOptions say what Build assembles. Only Config and DB are required: the rest replace
// what Build would make from the config (the mock passes its simulated chain, its permissive
// stores and its directory market).
type BuildOptions struct {
	Config *config.Live
	DB     statedb.DB
	// UnsafeMockProofs lets a build that verifies only mock proofs run against a network other
	// than the simulated one (devnets, tests).
	UnsafeMockProofs bool

	Chain chain.FullNode
	// Sectors replaces the sector store Build would open on DB with SectorsOptions, for a
	// caller whose stores or market read the same store.
	Sectors     *sectors.Store
	Stores      *persist.Manager
	DealManager deals.Manager
	PieceStore  http.Handler
	Verifier    sealverify.Verifier
	SnapUp      SnapUp
	// SeedConfidence replaces the 6 epochs a seed must be deep (the simulated chain of the mock
	// uses 0, so sectors do not wait for epochs nobody mines).
	SeedConfidence *abi.ChainEpoch
	// Registry options (the clock, for tests).
	RegistryOptions []registry.Option
	SectorsOptions  []sectors.Option
	// OrphanTimeout, when positive, aborts the sectors that no worker calls about for this long
	// after their allocation (orphanReaper); Now is its clock (default time.Now).
	OrphanTimeout time.Duration
	// Poster runs the WindowPoSt scheduler (daemon run --poster) for the miners with PoSt
	// enabled, reading the head every PostPoll ([Common.API] ChainEventInterval when zero).
	Poster   bool
	PostPoll time.Duration
	// WinningPoSt answers the WinningPoSt requests of the gateways in [Common.API] Gateway for
	// the miners with Proof.Enabled (daemon run --miner), after a warm-up proof with Warmup.
	WinningPoSt bool
	Warmup      bool
	// ExtProverDir, when set, moves the proofs into the external processors of its
	// ext-prover.cfg (daemon run --ext-prover).
	ExtProverDir string
	Now          func() time.Time
}

// Built is an assembled manager and what must be served and closed with it.
type Built struct {
	Manager    *Manager
	PieceStore http.Handler
	Commitment *commitment.Manager
	Sectors    *sectors.Store
	// Poster is the WindowPoSt scheduler, nil without BuildOptions.Poster.
	Poster *poster.Scheduler
	// ExtProver is ext-prover.cfg as loaded (SIGUSR1 reloads it), nil without --ext-prover.
	ExtProver *config.LiveExtProver
	close     []func()
}

// Close stops the modules' background work and releases their clients.
func (b *Built) Close() {
	for i := len(b.close) - 1; i >= 0; i-- {
		b.close[i]()
	}
}

// Build assembles the manager of cfg: the chain client (or the given chain), the message
// sender, every module of spec §4, and the piece store. It checks that the node is reachable
// and that this build's proofs suit its network before anything is served.
func Build(ctx context.Context, o BuildOptions) (*Built, error) {
	cfg := o.Config.Get()
	b := &Built{}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()

	node := o.Chain
	if node == nil {
		n, err := dialChain(ctx, cfg.Common.API)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, n.Close)
		node = n
	}
	verifier := o.Verifier
	if verifier == nil {
		verifier = sealverify.Default()
	}
	if err := checkProofs(ctx, node, verifier, o.UnsafeMockProofs); err != nil {
		return nil, err
	}
	sender, closeSender, err := newSender(ctx, cfg.Common.API, node)
	if err != nil {
		return nil, err
	}
	b.close = append(b.close, closeSender)

	miners := func() []config.MinerConfig { return o.Config.Get().Miners }
	miner := func(actor abi.ActorID) (config.MinerConfig, bool) { return o.Config.Get().Miner(actor) }

	store := o.Sectors
	if store == nil {
		store = sectors.New(o.DB, o.SectorsOptions...)
	}
	b.Sectors = store
	alloc := allocator.New(node, store, miners)
	dm := o.DealManager
	if dm == nil {
		if dm, err = newDealManager(ctx, cfg.Common.API, alloc.MinerInfos(), miners, b); err != nil {
			return nil, err
		}
	}
	stores := o.Stores
	if stores == nil {
		if stores, err = persist.Open(cfg.Common.PersistStores, o.DB, store); err != nil {
			return nil, err
		}
	}
	b.PieceStore = o.PieceStore
	if b.PieceStore == nil {
		if b.PieceStore, err = newPieceStore(cfg.Common); err != nil {
			return nil, err
		}
	}
	rand := randomness.New(node, store)
	if o.SeedConfidence != nil {
		rand.SetSeedConfidence(*o.SeedConfidence)
	}

	cm := commitment.New(commitment.Deps{
		Sectors: store, DB: o.DB, Chain: node, Sender: sender, Verifier: verifier, Miner: miner,
	})
	if err := cm.Start(ctx); err != nil {
		return nil, fmt.Errorf("recover the commitments of the previous run: %w", err)
	}
	b.close = append(b.close, cm.Stop)
	b.Commitment = cm

	b.Manager = New(Modules{
		Sectors:    store,
		State:      stateapi.New(store, registry.New(o.DB, o.RegistryOptions...)),
		Allocator:  alloc,
		Deals:      deals.NewAcquirer(dm, store, miners),
		Randomness: rand,
		Commitment: cm,
		Stores:     stores,
		SnapUp:     o.SnapUp,
		Proving:    &proving.Reader{Chain: node, Stores: stores},
		Version:    versionString(verifier),
	})
	if o.OrphanTimeout > 0 {
		b.close = append(b.close, runInBackground(newOrphanReaper(b.Manager, o.OrphanTimeout, o.Now).run))
	}
	prover := postprover.DefaultProver()
	if o.ExtProverDir != "" && (o.Poster || o.WinningPoSt) {
		ext, closeExt, live, err := newExtProver(ctx, o.ExtProverDir, prover)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, closeExt)
		prover, b.ExtProver = ext, live
	}
	if o.Poster {
		poll := o.PostPoll
		if poll <= 0 {
			poll = time.Duration(cfg.Common.API.ChainEventInterval)
		}
		b.Poster = poster.New(poster.Deps{Chain: node, Sender: sender, DB: o.DB, Stores: stores, Prover: prover,
			Verifier: verifier, Miners: miners, Poll: poll})
		b.close = append(b.close, runInBackground(b.Poster.Run))
	}
	if o.WinningPoSt {
		stop, err := startWinning(ctx, cfg, node, winning.Prover{Stores: stores, Prover: prover}, o.Warmup)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, stop)
	}
	ok = true
	return b, nil
}

// runInBackground runs fn until the returned stop, which waits for it to return.
func runInBackground(fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// dialChain is the client of [Common.API] Chain, in Lotus's FULLNODE_API_INFO form
// (<token>:<multiaddr>) or a plain multiaddr with the token in [Common.API] Token.
func dialChain(ctx context.Context, apiCfg config.APIConfig) (*chain.Node, error) {
	token, addr := config.ParseAPIInfo(apiCfg.Chain)
	if token == "" {
		token = apiCfg.Token
	}
	a, err := api.ParseAddr("[Common.API] Chain", addr)
	if err != nil {
		return nil, err
	}
	return chain.Dial(ctx, a.URL(FullNodeRPCPath), token)
}

// checkProofs refuses to run mock proofs against a real network: a chain would reject every
// proof, and the sectors' deposits would be lost.
func checkProofs(ctx context.Context, node chain.FullNode, v sealverify.Verifier, unsafeMock bool) error {
	params, err := node.StateGetNetworkParams(ctx)
	if err != nil {
		return fmt.Errorf("cannot reach the full node: %w (check [Common.API] Chain and Token in sector-manager.cfg, and that the node runs)", err)
	}
	if v.Name() != (sealverify.Mock{}).Name() || params.NetworkName == simchain.DefaultNetworkName {
		return nil
	}
	if !unsafeMock {
		return fmt.Errorf("the full node is on network %q, but this build verifies only mock proofs: real networks need a build with -tags ffi (make ffi); "+
			"for a devnet that accepts mock proofs pass --unsafe-mock-proofs", params.NetworkName)
	}
	log.Warnw("UNSAFE: running with mock proofs on a network that is not the simulated one (--unsafe-mock-proofs); "+
		"no proof sent from here verifies on a real chain", "network", params.NetworkName)
	return nil
}

// newSender sends through the venus messager when [Common.API] Messager is set, otherwise
// through the full node's own message pool from the configured senders.
func newSender(ctx context.Context, apiCfg config.APIConfig, node chain.FullNode) (messager.Sender, func(), error) {
	if apiCfg.Messager == "" {
		log.Infow("messages go through the full node's message pool (no [Common.API] Messager)")
		return messager.NewMpool(node), func() {}, nil
	}
	token, addr := config.ParseAPIInfo(apiCfg.Messager)
	if token == "" {
		token = apiCfg.Token
	}
	a, err := api.ParseAddr("[Common.API] Messager", addr)
	if err != nil {
		return nil, nil, err
	}
	v, err := messager.DialVenus(ctx, a.URL(api.ManagerRPCPath), token)
	if err != nil {
		return nil, nil, err
	}
	log.Infow("messages go through the venus messager", "endpoint", v.Endpoint())
	return v, v.Close, nil
}

func newDealManager(ctx context.Context, apiCfg config.APIConfig, sizes deals.SectorSizes, miners func() []config.MinerConfig, b *Built) (deals.Manager, error) {
	if apiCfg.Market == "" {
		return deals.NewNull(), nil
	}
	token, addr := config.ParseAPIInfo(apiCfg.Market)
	if token == "" {
		token = apiCfg.Token
	}
	a, err := api.ParseAddr("[Common.API] Market", addr)
	if err != nil {
		return nil, err
	}
	client, err := deals.DialMarket(ctx, a.URL(FullNodeRPCPath), token)
	if err != nil {
		return nil, err
	}
	b.close = append(b.close, client.Close)
	return deals.NewMarket(client, sizes, miners), nil
}

func newPieceStore(common config.CommonConfig) (http.Handler, error) {
	if err := piecestore.Check(common.PieceStores); err != nil {
		return nil, err
	}
	origin, err := piecestore.MarketOrigin(common.API.Market)
	if err != nil {
		return nil, err
	}
	return piecestore.Handler(common.PieceStores, origin), nil
}

func versionString(v sealverify.Verifier) string {
	s := "venus-sector-manager " + version.String()
	if v.Name() == (sealverify.Mock{}).Name() {
		s += " " + api.MockChainTag
	}
	return s
}
