package mock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// indexPrefix keys the mock's sector index: the persist store (instance) that holds each sealed
// sector's files, as SubmitPersisted was told. A snap-up reads the sector key from there.
const indexPrefix = "mock-sector-index/normal/"

func (m *Mock) setAccessInstance(sid abi.SectorID, instance string) error {
	return m.db.Update(func(tx statedb.Txn) error {
		return tx.Put(indexPrefix+sectors.Key(sid), []byte(instance))
	})
}

// accessInstance is the store holding a sealed sector, "" when the mock was never told.
func (m *Mock) accessInstance(sid abi.SectorID) (string, error) {
	raw, err := m.db.Get(indexPrefix + sectors.Key(sid))
	if errors.Is(err, statedb.ErrNotFound) {
		return "", nil
	}
	return string(raw), err
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
func (m *Mock) AllocateSanpUpSector(ctx context.Context, spec api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error) {
	log.Debugw("AllocateSanpUpSector", "spec", spec)
	if m.market == nil || !allows(spec.Sector.AllowedMiners, m.miner) || !allows(spec.Sector.AllowedProofTypes, m.proofType) {
		return nil, nil
	}
	m.market.mu.Lock()
	defer m.market.mu.Unlock()
	if !m.market.hasFree() {
		return nil, nil
	}
	offline, err := m.sectors.List(api.WorkerOffline, api.SectorWorkerJobSealing)
	if err != nil {
		return nil, err
	}
	sort.Slice(offline, func(i, j int) bool { return offline[i].ID.Number < offline[j].ID.Number })
	var pieces api.Deals
	for _, cand := range offline {
		if !snapCandidate(cand) {
			continue
		}
		access, err := m.accessInstance(cand.ID)
		if err != nil {
			return nil, err
		}
		if access == "" {
			continue
		}
		if pieces == nil {
			if pieces = m.market.pick(spec.Deals); pieces == nil {
				return nil, nil
			}
		}
		var out *api.AllocatedSnapUpSector
		err = m.sectors.Reopen(cand.ID, func(st *api.SectorState) error {
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
		if errors.Is(err, errNotCandidate) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m.market.assign(cand.ID, pieces)
		log.Infow("snap-up sector allocated", "sector", api.FormatSectorID(cand.ID), "deals", dealIDs(pieces), "access", access)
		return out, nil
	}
	return nil, nil
}

// publicInfo is what the chain says about a sealed sector: its CommR.
func publicInfo(st *api.SectorState) (api.SectorPublicInfo, error) {
	raw, err := commcid.CIDToReplicaCommitmentV1(st.Pre.CommR)
	if err != nil {
		return api.SectorPublicInfo{}, fmt.Errorf("CommR of %s: %w", api.FormatSectorID(st.ID), err)
	}
	pub := api.SectorPublicInfo{SealedCID: st.Pre.CommR, Expiration: dealDuration}
	copy(pub.CommR[:], raw)
	return pub, nil
}

// SubmitSnapUpProof verifies a snap-up against the sector's assigned pieces and the mock update
// proof (api/mockproof) of its old CommR and the new commitments, and keeps it as the sector's
// UpgradedInfo. A verified repeat is a DuplicateSubmit and replaces the stored one.
func (m *Mock) SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error) {
	log.Debugw("SubmitSnapUpProof", "sector", api.FormatSectorID(sid), "access", info.AccessInstance)
	var resp api.SubmitSnapUpProofResp
	err := m.withOnline(sid, func(st *api.SectorState) error {
		if problem := m.snapUpProblem(st, info); problem != "" {
			log.Warnw("snap-up proof rejected", "sector", api.FormatSectorID(sid), "reason", problem)
			resp = rejected(problem)
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
			Proof:          cloneBytes(info.Proof),
		}
		return nil
	})
	return resp, err
}

// snapUpProblem says why a snap-up submission does not verify, or "" when it does.
func (m *Mock) snapUpProblem(st *api.SectorState, info api.SnapUpOnChainInfo) string {
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
	commD, err := unsealedCommD(m.sectorSize, st.Pieces)
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

// ReportFinalized moves a finished sector offline; an upgraded one too, since the mock has no
// snap-up committer to wait for.
func (m *Mock) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	err := m.sectors.FinalizeUpgraded(sid)
	if err == nil {
		log.Infow("sector finalized", "sector", api.FormatSectorID(sid))
	}
	return err
}
