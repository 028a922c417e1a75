package sealing

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// snapup is the plan that upgrades a sealed CC sector with deal data (spec/worker.md §6.3).
type snapup struct{ transitions }

func (snapup) name() string { return "snapup" }

var snapupTable = transitions{
	{Empty, EvAllocatedSnapUpSector}: Allocated,
	{Allocated, EvAddPiece}:          PieceAdded,
	{PieceAdded, EvBuildTreeD}:       TreeDBuilt,
	{TreeDBuilt, EvSnapEncode}:       SnapEncoded,
	{SnapEncoded, EvSnapProve}:       SnapProved,
	{SnapProved, EvPersist}:          Persisted,
	{Persisted, EvRePersist}:         SnapProved,
	{Persisted, EvFinish}:            Finished,
}

func (s snapup) handle(j *job) (*Event, *Failure) {
	switch j.rec.State {
	case Empty:
		return j.allocateSnapUp()
	case Allocated:
		if len(j.rec.Deals) == 0 {
			return nil, abort("deals is required")
		}
		return j.addPieces()
	case PieceAdded:
		return j.buildTreeD(false)
	case TreeDBuilt:
		return j.stage(processor.StageSnapEncode, j.snapEncode)
	case SnapEncoded:
		return j.stage(processor.StageSnapProve, j.snapProve)
	case SnapProved:
		return j.persistUpdate()
	case Persisted:
		return j.submitSnapUpProof()
	default:
		return j.endOf(s.name())
	}
}

func (j *job) allocateSnapUp() (*Event, *Failure) {
	if j.drained() {
		return event(EvRetry, nil), nil
	}
	o := j.t.Opts
	spec := api.AllocateSnapUpSpec{
		Sector: api.AllocateSectorSpec{AllowedMiners: o.AllowedMiners, AllowedProofTypes: o.AllowedProofTypes},
		Deals:  api.AcquireDealsSpec{MaxDeals: o.MaxDeals, MinUsedSpace: o.MinDealSpace},
	}
	res, err := j.t.env.RPC.AllocateSanpUpSector(j.ctx, spec)
	if err != nil {
		j.log.Warnw("allocate snapup sector", "err", err)
		return event(EvRetry, nil), nil
	}
	if res == nil {
		j.log.Debug("no snapup sector allocated")
		return event(EvRetry, nil), nil
	}
	if len(res.Pieces) == 0 {
		return nil, abort("deals required, got empty")
	}
	if res.Private.AccessInstance == "" {
		return nil, abort("access instance of sector %s is required", api.FormatSectorID(res.Sector.ID))
	}
	proverID, err := abi.MakeProverID(res.Sector.ID.Miner)
	if err != nil {
		return nil, crit("prover id of miner %d: %w", res.Sector.ID.Miner, err)
	}
	alloc, deals, fin := res.Sector, res.Pieces, SnapUpFinalized{Public: res.Public, Private: res.Private}
	return event(EvAllocatedSnapUpSector, func(r *Record) {
		r.Base = &Base{Allocated: alloc, ProveInput: ProveInput{ProverID: proverID, Number: alloc.ID.Number}}
		r.Deals = deals
		r.Finalized = &fin
	}), nil
}

func (j *job) updateProof() (processor.UpdateProof, *Failure) {
	s, f := j.sector()
	if f != nil {
		return 0, f
	}
	p, err := s.ProofType.RegisteredUpdateProof()
	if err != nil {
		return 0, abort("update proof of %s: %w", api.FormatSectorID(s.ID), err)
	}
	return processor.UpdateProof(p), nil
}

func (j *job) snapEncode() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	size, f := j.sectorSize()
	if f != nil {
		return nil, f
	}
	proof, f := j.updateProof()
	if f != nil {
		return nil, f
	}
	if j.rec.Finalized == nil {
		return nil, abort("finalized is required")
	}
	if f := j.linkSectorKey(s.ID, size, j.rec.Finalized.Private.AccessInstance); f != nil {
		return nil, f
	}
	loc := j.t.Loc
	update, updateCache := loc.Update(s.ID), loc.UpdateCache(s.ID)
	if f := prepareUpdateFiles(update, updateCache, size); f != nil {
		return nil, f
	}
	if err := os.Symlink(filepath.Join(loc.Prepared(s.ID), store.TreeDFileName), filepath.Join(updateCache, store.TreeDFileName)); err != nil {
		return nil, crit("link tree_d into update cache dir: %w", err)
	}
	task := processor.SnapEncodeInput{
		RegisteredProof: proof,
		NewReplicaPath:  update,
		NewCachePath:    updateCache,
		SectorPath:      loc.Sealed(s.ID),
		SectorCachePath: loc.Cache(s.ID),
		StagedDataPath:  loc.Unsealed(s.ID),
		PieceInfos:      j.rec.Phases.Pieces,
	}
	out, err := j.t.env.Procs.SnapEncode.Process(j.ctx, task)
	if err != nil {
		return nil, perm("snap encode: %w", err)
	}
	return event(EvSnapEncode, func(r *Record) { r.Phases.SnapEncodeOut = &out }), nil
}

// linkSectorKey links the CC sector's sealed file and cache files from the persist store that
// holds them to the local paths snap encoding reads (spec/worker.md §6.3, TreeDBuilt).
func (j *job) linkSectorKey(sid abi.SectorID, size abi.SectorSize, access string) *Failure {
	st, ok := j.t.env.Attached.Get(access)
	if !ok {
		return perm("access store %q of the sector is not attached to this worker", access)
	}
	info, err := j.t.env.RPC.StoreBasicInfo(j.ctx, access)
	if err != nil {
		return rpcFailure("StoreBasicInfo", err)
	}
	if info == nil {
		return perm("store basic info of access instance %s not found in venus-sector-manager", access)
	}
	loc := j.t.Loc
	if err := os.MkdirAll(filepath.Dir(loc.Sealed(sid)), 0o755); err != nil {
		return crit("prepare sealed file dir: %w", err)
	}
	locals := []string{loc.Sealed(sid)}
	for _, n := range store.CachedFileNames(size) {
		locals = append(locals, filepath.Join(loc.Cache(sid), n))
	}
	routes := make([]processor.TransferRoute, 0, len(locals))
	for _, local := range locals {
		rel, err := loc.Rel(local)
		if err != nil {
			return crit("%w", err)
		}
		src, err := st.URI(rel)
		if err != nil {
			return crit("%w", err)
		}
		name := st.Name
		routes = append(routes, processor.TransferRoute{
			Src:  processor.TransferItem{StoreName: &name, URI: src},
			Dest: processor.TransferItem{URI: local},
			Opt:  &processor.TransferOption{AllowLink: true},
		})
	}
	task := processor.TransferInput{Stores: map[string]processor.TransferStoreInfo{st.Name: {Name: st.Name, Meta: info.Meta}}, Routes: routes}
	if _, err := j.t.env.Procs.Transfer.Process(j.ctx, task); err != nil {
		return perm("link sector files from %s: %w", access, err)
	}
	return nil
}

func prepareUpdateFiles(update, updateCache string, size abi.SectorSize) *Failure {
	if err := os.MkdirAll(filepath.Dir(update), 0o755); err != nil {
		return crit("prepare update dir: %w", err)
	}
	f, err := os.OpenFile(update, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return crit("create update file: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		return crit("size update file %s: %w", update, err)
	}
	if err := os.RemoveAll(updateCache); err != nil {
		return crit("wipe update cache dir: %w", err)
	}
	if err := os.MkdirAll(updateCache, 0o755); err != nil {
		return crit("create update cache dir: %w", err)
	}
	return nil
}

func (j *job) snapProve() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	proof, f := j.updateProof()
	if f != nil {
		return nil, f
	}
	enc := j.rec.Phases.SnapEncodeOut
	if enc == nil || j.rec.Finalized == nil {
		return nil, abort("snap_encode_out and finalized are required")
	}
	loc := j.t.Loc
	commROld := j.rec.Finalized.Public.CommR
	vanilla, err := j.t.env.Procs.SnapVanilla.Process(j.ctx, processor.SnapVanillaInput{
		RegisteredProof: proof, SectorKeyPath: loc.Sealed(s.ID), SectorKeyCachePath: loc.Cache(s.ID),
		ReplicaPath: loc.Update(s.ID), ReplicaCachePath: loc.UpdateCache(s.ID),
		CommROld: commROld, CommRNew: enc.CommRNew, CommDNew: enc.CommDNew,
	})
	if err != nil {
		return nil, perm("generate vanilla update proofs: %w", err)
	}
	out, err := j.t.env.Procs.SnapProve.Process(j.ctx, processor.SnapProveInput{
		RegisteredProof: proof, VanillaProofs: vanilla, CommROld: commROld, CommRNew: enc.CommRNew, CommDNew: enc.CommDNew,
	})
	if err != nil {
		return nil, perm("snap prove: %w", err)
	}
	ok, err := j.t.env.Procs.SnapVerify.Process(j.ctx, processor.SnapVerifyInput{
		RegisteredProof: proof, Proof: out, CommROld: commROld, CommRNew: enc.CommRNew, CommDNew: enc.CommDNew,
	})
	if err != nil {
		return nil, perm("verify update proof: %w", err)
	}
	if !ok {
		return nil, perm("generated an invalid update proof")
	}
	return event(EvSnapProve, func(r *Record) { r.Phases.SnapProveOut = out }), nil
}

func (j *job) persistUpdate() (*Event, *Failure) {
	return j.persist(j.t.Loc.Update, j.t.Loc.UpdateCache)
}

func (j *job) submitSnapUpProof() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	ph := j.rec.Phases
	if ph.SnapEncodeOut == nil || len(ph.SnapProveOut) == 0 || ph.PersistInstance == nil {
		return nil, abort("snap_encode_out, snap_prov_out and persist_instance are required")
	}
	pieces := make([]cid.Cid, 0, len(j.rec.Deals))
	for _, d := range j.rec.Deals {
		pieces = append(pieces, d.Piece.Cid)
	}
	info := api.SnapUpOnChainInfo{
		CommR: ph.SnapEncodeOut.CommRNew, CommD: ph.SnapEncodeOut.CommDNew,
		AccessInstance: *ph.PersistInstance, Pieces: pieces, Proof: ph.SnapProveOut,
	}
	res, err := j.t.env.RPC.SubmitSnapUpProof(j.ctx, s.ID, info)
	if err != nil {
		return nil, rpcFailure("SubmitSnapUpProof", err)
	}
	desc := "NULL"
	if res.Desc != nil {
		desc = *res.Desc
	}
	switch res.Res {
	case api.SubmitAccepted, api.SubmitDuplicateSubmit:
		return event(EvFinish, nil), nil
	case api.SubmitMismatchedSubmission:
		return nil, abort("snapup proof mismatched: %s", desc)
	case api.SubmitRejected:
		return nil, abort("snapup proof rejected: %s", desc)
	case api.SubmitFilesMissed:
		j.log.Warnw("persisted update files missed, persisting again", "desc", desc)
		return event(EvRePersist, nil), nil
	default:
		return nil, temp("unexpected snapup submit result %s", fmt.Sprint(uint64(res.Res)))
	}
}
