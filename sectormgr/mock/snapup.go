package mock

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals/dirmarket"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/manager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

// snapUp is the mock's snap-up module: it upgrades the mock's own finished CC sectors with the
// deals of --pieces-dir and verifies the mock update proofs itself, since the simulated chain
// has no ProveReplicaUpdates. An upgraded sector is done once its proof verifies.
type snapUp struct {
	miner      abi.ActorID
	proofType  abi.RegisteredSealProof
	sectorSize abi.SectorSize
	sectors    *sectors.Store
	stores     *persist.Manager
	market     *dirmarket.Market // nil: no deals, no snap-up

	// mu serialises allocations, so two callers do not take deals for the same candidate.
	mu sync.Mutex
}

var _ manager.SnapUp = (*snapUp)(nil)

// accessInstance is the store holding a sealed sector, "" when the mock was never told.
func (s *snapUp) accessInstance(ctx context.Context, sid abi.SectorID) (string, error) {
	loc, err := s.stores.SectorIndexerFind(ctx, persist.IndexNormal, sid)
	if err != nil || !loc.Found {
		return "", err
	}
	return loc.Instance.SealedFile, nil
}

// errNotCandidate leaves a sector offline when it stopped being a snap-up candidate.
var errNotCandidate = errors.New("not a snap-up candidate")

// snapCandidate tells whether an offline sector is a finished CC sector that can take deals.
func snapCandidate(st *api.SectorState) bool {
	return st.Finalized && st.AbortReason == "" && !st.Upgraded && len(st.Pieces) == 0 && st.Pre != nil && st.Proof != nil
}

// AllocateSanpUpSector offers one of the mock's own finished CC sectors (lowest number first) for
// a snap-up when the pieces dir has deals for it: the sector comes back online with
// Upgraded=true and the deals (pledge pieces around them fill it), and the worker is told its
// CommR and the store holding its sector key. Null when there is no candidate or no deal.
func (s *snapUp) AllocateSanpUpSector(ctx context.Context, spec api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error) {
	log.Debugw("AllocateSanpUpSector", "spec", spec)
	if s.market == nil || !allows(spec.Sector.AllowedMiners, s.miner) || !allows(spec.Sector.AllowedProofTypes, s.proofType) {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.market.HasFree() {
		return nil, nil
	}
	offline, err := s.sectors.List(api.WorkerOffline, api.SectorWorkerJobSealing)
	if err != nil {
		return nil, err
	}
	sort.Slice(offline, func(i, j int) bool { return offline[i].ID.Number < offline[j].ID.Number })
	for _, cand := range offline {
		if !snapCandidate(cand) {
			continue
		}
		access, err := s.accessInstance(ctx, cand.ID)
		if err != nil {
			return nil, err
		}
		if access == "" {
			continue
		}
		out, err := s.upgrade(ctx, cand.ID, access, spec.Deals)
		if errors.Is(err, errNotCandidate) {
			continue
		}
		return out, err
	}
	return nil, nil
}

// upgrade takes deals for sid and reopens it with them; nil when no deal fits. The deals go
// back when the sector cannot be reopened.
func (s *snapUp) upgrade(ctx context.Context, sid abi.SectorID, access string, spec api.AcquireDealsSpec) (*api.AllocatedSnapUpSector, error) {
	pieces, err := s.market.Acquire(ctx, sid, spec, nil, 0)
	if err != nil || pieces == nil {
		return nil, err
	}
	var out *api.AllocatedSnapUpSector
	err = s.sectors.Reopen(sid, func(st *api.SectorState) error {
		if !snapCandidate(st) {
			return errNotCandidate
		}
		pub, err := publicInfo(st)
		if err != nil {
			return err
		}
		st.Upgraded = true
		st.Pieces = pieces
		st.UpgradePublic = &pub
		out = &api.AllocatedSnapUpSector{
			Sector:  api.AllocatedSector{ID: st.ID, ProofType: st.SectorType},
			Pieces:  pieces,
			Public:  pub,
			Private: api.SectorPrivateInfo{AccessInstance: access},
		}
		return nil
	})
	if err != nil {
		if rerr := s.market.Release(ctx, sid, pieces); rerr != nil {
			log.Warnw("give back the deals of a sector that was not upgraded", "sector", api.FormatSectorID(sid), "err", rerr)
		}
		return nil, err
	}
	log.Infow("snap-up sector allocated", "sector", api.FormatSectorID(sid), "deals", dealIDs(pieces), "access", access)
	return out, nil
}

func allows[T comparable](allowed []T, v T) bool {
	return len(allowed) == 0 || slices.Contains(allowed, v)
}

// publicInfo is what the chain says about a sealed sector: its CommR.
func publicInfo(st *api.SectorState) (api.SectorPublicInfo, error) {
	raw, err := commcid.CIDToReplicaCommitmentV1(st.Pre.CommR)
	if err != nil {
		return api.SectorPublicInfo{}, fmt.Errorf("CommR of %s: %w", api.FormatSectorID(st.ID), err)
	}
	pub := api.SectorPublicInfo{SealedCID: st.Pre.CommR, Expiration: dirmarket.DealDuration}
	copy(pub.CommR[:], raw)
	return pub, nil
}

// SubmitSnapUpProof verifies a snap-up against the sector's assigned pieces and the mock update
// proof (api/mockproof) of its old CommR and the new commitments, and keeps it as the sector's
// UpgradedInfo. A verified repeat is a DuplicateSubmit and replaces the stored one.
func (s *snapUp) SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error) {
	log.Debugw("SubmitSnapUpProof", "sector", api.FormatSectorID(sid), "access", info.AccessInstance)
	var resp api.SubmitSnapUpProofResp
	err := s.sectors.Update(sid, func(st *api.SectorState) error {
		if problem := s.snapUpProblem(st, info); problem != "" {
			log.Warnw("snap-up proof rejected", "sector", api.FormatSectorID(sid), "reason", problem)
			resp = api.SubmitSnapUpProofResp{Res: api.SubmitRejected, Desc: &problem}
			return nil
		}
		sealed, err := commcid.ReplicaCommitmentV1ToCID(info.CommR[:])
		if err != nil {
			return fmt.Errorf("convert CommR to a CID: %w", err)
		}
		unsealed, err := commcid.DataCommitmentV1ToCID(info.CommD[:])
		if err != nil {
			return fmt.Errorf("convert CommD to a CID: %w", err)
		}
		resp = api.SubmitSnapUpProofResp{Res: api.SubmitAccepted}
		if st.UpgradedInfo != nil {
			resp.Res = api.SubmitDuplicateSubmit
		}
		st.UpgradedInfo = &api.SectorUpgradedInfo{
			AccessInstance: info.AccessInstance,
			SealedCID:      sealed,
			UnsealedCID:    unsealed,
			Proof:          bytes.Clone(info.Proof),
		}
		return nil
	})
	return resp, err
}

// snapUpProblem says why a snap-up submission does not verify, or "" when it does.
func (s *snapUp) snapUpProblem(st *api.SectorState, info api.SnapUpOnChainInfo) string {
	if !st.Upgraded || st.UpgradePublic == nil {
		return "sector is not being upgraded: AllocateSanpUpSector did not hand it out"
	}
	if len(info.Proof) == 0 {
		return "proof is empty"
	}
	if info.AccessInstance == "" {
		return "access instance is empty: say which persist store holds the update files"
	}
	if len(info.Pieces) != len(st.Pieces) {
		return fmt.Sprintf("%d pieces submitted, the sector was assigned %d", len(info.Pieces), len(st.Pieces))
	}
	for i, c := range info.Pieces {
		if want := st.Pieces[i].Piece.Cid; c != want {
			return fmt.Sprintf("piece #%d is %s, the sector was assigned %s (deal %d)", i, c, want, st.Pieces[i].ID)
		}
	}
	commD, err := unsealedCommD(s.sectorSize, st.Pieces)
	if err != nil {
		return fmt.Sprintf("assigned pieces: %v", err)
	}
	if info.CommD != commD {
		return fmt.Sprintf("CommD %s differs from the unsealed commitment %s of the assigned pieces", hex32(info.CommD), hex32(commD))
	}
	proof, err := st.SectorType.RegisteredUpdateProof()
	if err != nil {
		return fmt.Sprintf("update proof of seal proof %d: %v", st.SectorType, err)
	}
	commROld := st.UpgradePublic.CommR
	if want := mockproof.UpdateCommR(proof, commROld, commD); info.CommR != want {
		return fmt.Sprintf("CommR %s differs from the mock update CommR %s", hex32(info.CommR), hex32(want))
	}
	if want := mockproof.UpdateProof(proof, commROld, info.CommR, commD); !bytes.Equal(info.Proof, want) {
		return fmt.Sprintf("proof (%d bytes) differs from the mock update proof (%d bytes) of these commitments", len(info.Proof), len(want))
	}
	return ""
}

// Finalize moves a finished sector offline; an upgraded one too, since its upgrade is done
// once its proof verified (the mock has no snap-up committer to wait for).
func (s *snapUp) Finalize(sid abi.SectorID) error {
	return s.sectors.FinalizeUpgraded(sid)
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

func hex32(b [32]byte) string { return hex.EncodeToString(b[:]) }
