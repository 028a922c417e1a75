package deals

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

// The venus-market (droplet) JSON-RPC API: venus-shared/api/market/v1, served at /rpc/v1.
const (
	MarketNamespace = "VENUS_MARKET"
	// marketAPIHeader names the API a venus service is called with; venus clients send it.
	marketAPIHeader = "X-VENUS-API-NAMESPACE"
	marketAPIName   = "v1.IMarket"
)

// GetDealSpec is venus-market's market.GetDealSpec: which deals AssignUnPackedDeals may pick.
type GetDealSpec struct {
	MaxPiece         int // most deals; 0: no limit
	MaxPieceSize     uint64
	MinPiece         int
	MinPieceSize     uint64
	MinUsedSpace     uint64 // least padded bytes the deals must fill
	StartEpoch       abi.ChainEpoch
	EndEpoch         abi.ChainEpoch
	SectorExpiration *abi.ChainEpoch
}

// DealInfoIncludePath is venus-market's market.DealInfoIncludePath: one piece for the sector, a
// deal (DealID ≠ 0, the proposal's fields inline) or a filler piece (DealID 0).
type DealInfoIncludePath struct {
	market.DealProposal
	Offset          abi.PaddedPieceSize
	Length          abi.PaddedPieceSize
	PayloadSize     uint64
	DealID          abi.DealID
	TotalStorageFee abi.TokenAmount
	FastRetrieval   bool
	PublishCid      cid.Cid
}

// PieceStatus is venus-market's market.PieceStatus.
type PieceStatus string

// PieceUndefine is the status of a deal no sector holds.
const PieceUndefine PieceStatus = "Undefine"

// StorageDealAwaitingPreCommit is go-fil-markets' storagemarket.StorageDealAwaitingPreCommit, the
// deal status a released deal goes back to.
const StorageDealAwaitingPreCommit = uint64(29)

// MarketAPI is the venus-market calls the deal manager makes.
type MarketAPI interface {
	AssignUnPackedDeals(ctx context.Context, sid abi.SectorID, ssize abi.SectorSize, spec *GetDealSpec) ([]*DealInfoIncludePath, error)
	// ReleaseDeals makes deals assigned by AssignUnPackedDeals free again (venus-market ≥ 2.7).
	ReleaseDeals(ctx context.Context, miner address.Address, deals []abi.DealID) error
	// UpdateDealStatus is how older markets release a deal: status Undefine.
	UpdateDealStatus(ctx context.Context, miner address.Address, dealID abi.DealID, pieceStatus PieceStatus, dealStatus uint64) error
}

// marketClient is the go-jsonrpc client of MarketAPI.
type marketClient struct {
	AssignUnPackedDeals func(ctx context.Context, sid abi.SectorID, ssize abi.SectorSize, spec *GetDealSpec) ([]*DealInfoIncludePath, error)
	ReleaseDeals        func(ctx context.Context, miner address.Address, deals []abi.DealID) error
	UpdateDealStatus    func(ctx context.Context, miner address.Address, dealID abi.DealID, pieceStatus PieceStatus, dealStatus uint64) error
}

// MarketClient is a venus-market node reached over JSON-RPC. Its errors name the endpoint and
// the method.
type MarketClient struct {
	endpoint string
	c        marketClient
	closer   jsonrpc.ClientCloser
}

var _ MarketAPI = (*MarketClient)(nil)

// DialMarket prepares a client of the market at endpoint (an http(s) URL ending in /rpc/v1),
// sending token as `Authorization: Bearer <token>` when it is not empty. No I/O happens until
// the first call.
func DialMarket(ctx context.Context, endpoint, token string) (*MarketClient, error) {
	header := http.Header{}
	header.Set(marketAPIHeader, marketAPIName)
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	m := &MarketClient{endpoint: endpoint}
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, MarketNamespace, []interface{}{&m.c}, header)
	if err != nil {
		return nil, fmt.Errorf("venus-market %s: %w", endpoint, err)
	}
	m.closer = closer
	return m, nil
}

// Close releases the client.
func (m *MarketClient) Close() {
	if m.closer != nil {
		m.closer()
	}
}

func (m *MarketClient) wrap(method string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("venus-market %s: %s.%s: %w", m.endpoint, MarketNamespace, method, err)
}

// MarketCallTimeout bounds every market call, so a hung market becomes an error the worker retries.
const MarketCallTimeout = 30 * time.Second

func (m *MarketClient) AssignUnPackedDeals(ctx context.Context, sid abi.SectorID, ssize abi.SectorSize, spec *GetDealSpec) ([]*DealInfoIncludePath, error) {
	ctx, cancel := context.WithTimeout(ctx, MarketCallTimeout)
	defer cancel()
	out, err := m.c.AssignUnPackedDeals(ctx, sid, ssize, spec)
	return out, m.wrap("AssignUnPackedDeals", err)
}

func (m *MarketClient) ReleaseDeals(ctx context.Context, miner address.Address, deals []abi.DealID) error {
	ctx, cancel := context.WithTimeout(ctx, MarketCallTimeout)
	defer cancel()
	return m.wrap("ReleaseDeals", m.c.ReleaseDeals(ctx, miner, deals))
}

func (m *MarketClient) UpdateDealStatus(ctx context.Context, miner address.Address, dealID abi.DealID, pieceStatus PieceStatus, dealStatus uint64) error {
	ctx, cancel := context.WithTimeout(ctx, MarketCallTimeout)
	defer cancel()
	return m.wrap("UpdateDealStatus", m.c.UpdateDealStatus(ctx, miner, dealID, pieceStatus, dealStatus))
}

// SectorSizes tells a miner's sector size (allocator.MinerInfos does).
type SectorSizes interface {
	SectorSize(ctx context.Context, miner abi.ActorID) (abi.SectorSize, error)
}

// Market is the deal manager over a venus-market node. It is safe for concurrent use.
type Market struct {
	api    MarketAPI
	sizes  SectorSizes
	miners func() []config.MinerConfig

	// assignMu serialises assignments, as the original does, so the market never races itself
	// handing one deal to two sectors.
	assignMu sync.Mutex
}

var _ Manager = (*Market)(nil)

// NewMarket builds the deal manager over a market. miners is read on every call.
func NewMarket(m MarketAPI, sizes SectorSizes, miners func() []config.MinerConfig) *Market {
	return &Market{api: m, sizes: sizes, miners: miners}
}

// Acquire asks the market for deals for sid, when the miner takes deals for job
// ([Miners.Sector].EnableDeals for sealing, [Miners.SnapUp].Enabled for a snap-up). Only pieces
// with a deal id carry a proposal. An explicit MaxDeals of 0 asks for nothing.
func (m *Market) Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *Lifetime, job Job) (api.Deals, error) {
	mcfg, err := minerConfig(m.miners(), sid.Miner)
	if err != nil {
		return nil, err
	}
	enabled := (job == Sealing && mcfg.Sector.EnableDeals) || (job == SnapUp && mcfg.SnapUp.Enabled)
	if !enabled || (spec.MaxDeals != nil && *spec.MaxDeals == 0) {
		return nil, nil
	}
	size, err := m.sizes.SectorSize(ctx, sid.Miner)
	if err != nil {
		return nil, err
	}

	mspec := &GetDealSpec{}
	if spec.MaxDeals != nil {
		mspec.MaxPiece = int(*spec.MaxDeals)
	}
	if spec.MinUsedSpace != nil {
		mspec.MinUsedSpace = *spec.MinUsedSpace
	}
	if lifetime != nil {
		mspec.StartEpoch, mspec.EndEpoch = lifetime.Start, lifetime.End
	}

	m.assignMu.Lock()
	infos, err := m.api.AssignUnPackedDeals(ctx, sid, size, mspec)
	m.assignMu.Unlock()
	if err != nil {
		return nil, err
	}
	return dealsOf(sid, infos)
}

// dealsOf maps the market's answer to the sector's pieces.
func dealsOf(sid abi.SectorID, infos []*DealInfoIncludePath) (api.Deals, error) {
	var out api.Deals
	for i, d := range infos {
		if d == nil {
			return nil, fmt.Errorf("sector %s: the market answered null for piece #%d", api.FormatSectorID(sid), i)
		}
		info := api.DealInfo{
			ID:          d.DealID,
			PayloadSize: d.PayloadSize,
			Piece:       api.PieceInfo{Size: d.PieceSize, Cid: d.PieceCID},
		}
		if d.DealID != 0 {
			proposal := d.DealProposal
			info.Proposal = &proposal
		}
		out = append(out, info)
	}
	return out, nil
}

// Release gives the deals of pieces back to the market with ReleaseDeals; a market too old to
// have it (method not found) gets each deal's status set to Undefine instead.
func (m *Market) Release(ctx context.Context, sid abi.SectorID, pieces api.Deals) error {
	ids := dealIDs(pieces)
	if len(ids) == 0 {
		return nil
	}
	maddr, err := address.NewIDAddress(uint64(sid.Miner))
	if err != nil {
		return fmt.Errorf("sector %s: %w", api.FormatSectorID(sid), err)
	}
	err = m.api.ReleaseDeals(ctx, maddr, ids)
	if !methodNotFound(err) {
		return err
	}
	for _, id := range ids {
		if err := m.api.UpdateDealStatus(ctx, maddr, id, PieceUndefine, StorageDealAwaitingPreCommit); err != nil {
			return err
		}
	}
	return nil
}

// methodNotFound tells whether the server does not know the method called (JSON-RPC -32601).
func methodNotFound(err error) bool {
	var rpcErr *jsonrpc.JSONRPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == -32601
}
