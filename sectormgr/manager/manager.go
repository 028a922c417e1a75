// Package manager assembles the production modules of spec/sector-manager.md §4 into the Venus
// API that workers and operators call. `daemon run` and `mock` build the same Manager; they
// differ only in the chain behind the modules (a Lotus full node, or the simulated chain) and in
// which stores and market they are given.
package manager

import (
	"context"
	"errors"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/stateapi"
)

var log = logging.Logger("manager")

// Allocator hands out sector numbers (§4.4).
type Allocator interface {
	AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error)
}

// Deals fills sectors with deals and gives them back when a sector is aborted (§4.5).
type Deals interface {
	AcquireDeals(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec) (api.Deals, error)
	ReleaseDeals(ctx context.Context, sid abi.SectorID, pieces api.Deals) error
}

// Randomness draws tickets and seeds from the chain (§4.6).
type Randomness interface {
	AssignTicket(ctx context.Context, sid abi.SectorID) (api.Ticket, error)
	WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error)
}

// Commitment sends pre-commits and proofs and follows them on chain (§4.7).
type Commitment interface {
	SubmitPreCommit(ctx context.Context, sector api.AllocatedSector, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error)
	PollPreCommitState(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error)
	SubmitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, hardReset bool) (api.SubmitProofResp, error)
	PollProofState(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error)
}

// Stores are the persist stores sealed sectors go to (§4.8).
type Stores interface {
	StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error)
	StoreBasicInfo(ctx context.Context, instanceName string) (*api.StoreBasicInfo, error)
	SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error)
	StoreReleaseReserved(ctx context.Context, sid abi.SectorID) (bool, error)
}

// SnapUp upgrades finished CC sectors with deals (§4.10).
type SnapUp interface {
	AllocateSanpUpSector(ctx context.Context, spec api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error)
	SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error)
	// Finalize moves a finished sector offline: an upgraded one only when the snap-up module
	// says its upgrade is done.
	Finalize(sid abi.SectorID) error
}

// Modules are what a Manager is made of.
type Modules struct {
	Sectors    *sectors.Store
	State      *stateapi.API
	Allocator  Allocator
	Deals      Deals
	Randomness Randomness
	Commitment Commitment
	Stores     Stores
	// SnapUp is nil when the manager upgrades no sector: AllocateSanpUpSector answers null.
	SnapUp SnapUp
	// Proving answers CheckProvable and ProvingInfo; nil in a manager without a chain.
	Proving *proving.Reader
	// Version is what Venus.Version answers.
	Version string
}

// Manager serves api.ManagerAPI from its modules.
type Manager struct {
	*stateapi.API
	m Modules
}

var _ api.ManagerAPI = (*Manager)(nil)

// New assembles a manager.
func New(m Modules) *Manager {
	return &Manager{API: m.State, m: m}
}

func (g *Manager) AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	return g.m.Allocator.AllocateSector(ctx, spec)
}

func (g *Manager) AcquireDeals(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec) (api.Deals, error) {
	return g.m.Deals.AcquireDeals(ctx, sid, spec)
}

func (g *Manager) AssignTicket(ctx context.Context, sid abi.SectorID) (api.Ticket, error) {
	return g.m.Randomness.AssignTicket(ctx, sid)
}

func (g *Manager) WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	return g.m.Randomness.WaitSeed(ctx, sid)
}

func (g *Manager) SubmitPreCommit(ctx context.Context, sector api.AllocatedSector, info api.PreCommitOnChainInfo, hardReset bool) (api.SubmitPreCommitResp, error) {
	return g.m.Commitment.SubmitPreCommit(ctx, sector, info, hardReset)
}

func (g *Manager) PollPreCommitState(ctx context.Context, sid abi.SectorID) (api.PollPreCommitStateResp, error) {
	return g.m.Commitment.PollPreCommitState(ctx, sid)
}

func (g *Manager) SubmitProof(ctx context.Context, sid abi.SectorID, info api.ProofOnChainInfo, hardReset bool) (api.SubmitProofResp, error) {
	return g.m.Commitment.SubmitProof(ctx, sid, info, hardReset)
}

func (g *Manager) PollProofState(ctx context.Context, sid abi.SectorID) (api.PollProofStateResp, error) {
	return g.m.Commitment.PollProofState(ctx, sid)
}

func (g *Manager) StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error) {
	return g.m.Stores.StoreReserveSpace(ctx, sid, size, candidates)
}

func (g *Manager) StoreBasicInfo(ctx context.Context, instanceName string) (*api.StoreBasicInfo, error) {
	return g.m.Stores.StoreBasicInfo(ctx, instanceName)
}

func (g *Manager) SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	return g.m.Stores.SubmitPersisted(ctx, sid, instance)
}

func (g *Manager) AllocateSanpUpSector(ctx context.Context, spec api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error) {
	if g.m.SnapUp == nil {
		return nil, nil
	}
	return g.m.SnapUp.AllocateSanpUpSector(ctx, spec)
}

func (g *Manager) SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error) {
	if g.m.SnapUp == nil {
		desc := "this manager upgrades no sector (snap-up is not enabled)"
		return api.SubmitSnapUpProofResp{Res: api.SubmitRejected, Desc: &desc}, nil
	}
	return g.m.SnapUp.SubmitSnapUpProof(ctx, sid, info)
}

// ReportFinalized moves a sealed sector offline and releases its space reservation; a failed
// release is only logged, as the original does (the reservation is released again at abort or
// by util storage release-reserved).
func (g *Manager) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	var err error
	if g.m.SnapUp != nil {
		err = g.m.SnapUp.Finalize(sid)
	} else {
		err = g.m.Sectors.Finalize(sid)
	}
	if err != nil {
		return err
	}
	log.Infow("sector finalized", "sector", api.FormatSectorID(sid))
	g.releaseReserved(ctx, sid)
	return nil
}

// ReportAborted moves an aborted sector offline with its reason, then gives its deals back to
// the market and releases its space reservation.
func (g *Manager) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	if err := g.m.Sectors.Abort(sid, reason); err != nil {
		return err
	}
	log.Infow("sector aborted", "sector", api.FormatSectorID(sid), "reason", reason)
	st, err := g.m.Sectors.Find(api.WorkerOffline, sid)
	if err == nil && st.AbortReason != "" && len(st.Pieces) > 0 {
		if err := g.m.Deals.ReleaseDeals(ctx, sid, st.Pieces); err != nil {
			return err
		}
	}
	g.releaseReserved(ctx, sid)
	return nil
}

func (g *Manager) releaseReserved(ctx context.Context, sid abi.SectorID) {
	if _, err := g.m.Stores.StoreReleaseReserved(ctx, sid); err != nil {
		log.Warnw("release the sector's space reservation", "sector", api.FormatSectorID(sid), "err", err)
	}
}

// Version names the build; a manager that verifies mock proofs ends it with api.MockChainTag,
// so only workers with mock proofs accept it.
func (g *Manager) Version(ctx context.Context) (string, error) {
	return g.m.Version, nil
}

// CheckProvable checks the sectors' files in the persist stores, as WindowPoSt would.
func (m *Manager) CheckProvable(ctx context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error) {
	if m.m.Proving == nil {
		return nil, errNoProving
	}
	return m.m.Proving.CheckProvable(ctx, mid, sectors, strict)
}

// ProvingInfo reads the miner's deadlines from the chain.
func (m *Manager) ProvingInfo(ctx context.Context, mid abi.ActorID, dlIdx *uint64) (*api.ProvingInfo, error) {
	if m.m.Proving == nil {
		return nil, errNoProving
	}
	return m.m.Proving.Info(ctx, mid, dlIdx)
}

var errNoProving = errors.New("this manager reads no chain: run the proving commands against `daemon run` or `mock`")
