package sealing

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// persist copies the sector's data file and its cache files (paths given by the plan) into a
// persist store and records which one.
func (j *job) persist(dataFile, cacheDir func(abi.SectorID) string) (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	instance, f := j.persistFiles(dataFile(s.ID), cacheDir(s.ID))
	if f != nil {
		return nil, f
	}
	return event(EvPersist, func(r *Record) { r.Phases.PersistInstance = &instance }), nil
}

// persistFiles reserves space in a persist store through the manager and copies the sector's data
// file and the cache files proving needs into it, at the same relative paths (spec/worker.md §6.5).
func (j *job) persistFiles(dataFile, cacheDir string) (string, *Failure) {
	s, f := j.sector()
	if f != nil {
		return "", f
	}
	size, f := j.sectorSize()
	if f != nil {
		return "", f
	}
	candidates := j.t.env.Attached.Writable()
	if len(candidates) == 0 {
		return "", perm("no writable attached store to persist sector files")
	}
	target, f := j.reserveSpace(s.ID, store.RequiredPersistSize(size), candidates)
	if f != nil {
		return "", f
	}

	files := []string{dataFile}
	for _, name := range store.CachedFileNames(size) {
		files = append(files, filepath.Join(cacheDir, name))
	}
	routes := make([]processor.TransferRoute, 0, len(files))
	for _, src := range files {
		rel, err := j.t.Loc.Rel(src)
		if err != nil {
			return "", crit("%w", err)
		}
		dest, err := target.URI(rel)
		if err != nil {
			return "", crit("%w", err)
		}
		name := target.Name
		routes = append(routes, processor.TransferRoute{
			Src:  processor.TransferItem{URI: src},
			Dest: processor.TransferItem{StoreName: &name, URI: dest},
		})
	}
	// A worker killed during an earlier attempt of this step left its temporaries in the store;
	// this thread is the only writer of the sector's paths.
	for _, r := range routes {
		if err := store.RemoveStaleTemps(r.Dest.URI); err != nil {
			return "", perm("persist store %s: %w", target.Name, err)
		}
	}
	if f := j.refuseOtherContent(s.ID, routes); f != nil {
		return "", f
	}
	task := processor.TransferInput{
		Stores: map[string]processor.TransferStoreInfo{target.Name: {Name: target.Name}},
		Routes: routes,
	}
	total := sourceBytes(routes)
	start := time.Now()
	err := j.counted(processor.StageTransfer, total, func(ctx context.Context) error {
		_, err := j.t.env.Procs.Transfer.Process(ctx, task)
		return err
	})
	if took := time.Since(start); j.ctx.Err() == nil {
		j.t.env.Observer.StageDone(processor.StageTransfer, took, err != nil)
		if err == nil {
			j.t.env.Observer.Persisted(total, took)
		}
	}
	if err != nil {
		return "", perm("transfer persist sector files to %s (%s): %w", target.Name, target.Root, err)
	}
	j.log.Infow("sector files persisted", "store", target.Name)
	return target.Name, nil
}

// sourceBytes is what the routes have to copy: the sizes of their sources (one that cannot be
// read counts nothing; the transfer will say why).
func sourceBytes(routes []processor.TransferRoute) int64 {
	var total int64
	for _, r := range routes {
		if info, err := os.Stat(r.Src.URI); err == nil {
			total += info.Size()
		}
	}
	return total
}

// refuseOtherContent stops a transfer that would replace a file already in the store with other
// bytes: a sector number handed out twice (a mock manager restarted without --home) gives two
// jobs the same paths, and the second would silently destroy the first one's sealed sector. A
// file with our bytes, or with only the start of them (a copy in place that was interrupted), is
// this job's own earlier attempt, which the transfer may complete.
func (j *job) refuseOtherContent(id abi.SectorID, routes []processor.TransferRoute) *Failure {
	for _, r := range routes {
		existing, err := store.CompareExisting(j.ctx, r.Src.URI, r.Dest.URI)
		if err != nil {
			if j.ctx.Err() != nil {
				return interrupted()
			}
			return perm("compare %s with what the persist store holds: %w", r.Src.URI, err)
		}
		if existing == store.OtherContent {
			return perm("sector %s is already persisted with different content: %s is not %s; nothing was replaced "+
				"(if the persisted file is a stale leftover, remove it and resume)",
				api.FormatSectorID(id), r.Dest.URI, r.Src.URI)
		}
	}
	return nil
}

// reserveSpace asks the manager for a persist store with room, every rpc_polling_interval while
// it answers null (none has room yet), for at most reserve_space_timeout: then the step fails as
// a temporary failure, retried like any other, so a full cluster ends in a paused thread that
// says why rather than in a wait without end.
func (j *job) reserveSpace(id abi.SectorID, required uint64, candidates []string) (*store.Attached, *Failure) {
	o := j.t.Opts
	deadline := time.Now().Add(o.ReserveSpaceTimeout)
	for {
		info, err := j.t.env.RPC.StoreReserveSpace(j.ctx, id, required, candidates)
		if err != nil {
			return nil, rpcFailure("StoreReserveSpace", err)
		}
		if info != nil {
			st, ok := j.t.env.Attached.Get(info.Name)
			if !ok {
				return nil, perm("persist store %q chosen by the sector manager is not attached to this worker", info.Name)
			}
			return st, nil
		}
		if !time.Now().Before(deadline) {
			return nil, temp("no persist store among %v had room for %d bytes within %s (sealing.reserve_space_timeout)",
				candidates, required, o.ReserveSpaceTimeout)
		}
		j.log.Infow("no persist store has room yet, waiting", "required", required, "candidates", candidates)
		if f := j.t.Ctrl.sleep(j.ctx, min(o.RPCPollingInterval, time.Until(deadline))); f != nil {
			return nil, f
		}
	}
}
