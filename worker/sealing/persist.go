package sealing

import (
	"github.com/filecoin-project/go-state-types/abi"
	"path/filepath"

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
	required := store.RequiredPersistSize(size)
	var target *store.Attached
	for target == nil {
		info, err := j.t.env.RPC.StoreReserveSpace(j.ctx, s.ID, required, candidates)
		if err != nil {
			return "", rpcFailure("StoreReserveSpace", err)
		}
		if info == nil {
			j.log.Infow("no persist store has room yet, waiting", "required", required, "candidates", candidates)
			if f := j.t.Ctrl.sleep(j.ctx, j.t.Opts.RPCPollingInterval); f != nil {
				return "", f
			}
			continue
		}
		st, ok := j.t.env.Attached.Get(info.Name)
		if !ok {
			return "", perm("persist store %q chosen by the sector manager is not attached to this worker", info.Name)
		}
		target = st
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
	task := processor.TransferInput{
		Stores: map[string]processor.TransferStoreInfo{target.Name: {Name: target.Name}},
		Routes: routes,
	}
	if _, err := j.t.env.Procs.Transfer.Process(j.ctx, task); err != nil {
		return "", perm("transfer persist sector files to %s (%s): %w", target.Name, target.Root, err)
	}
	j.log.Infow("sector files persisted", "store", target.Name)
	return target.Name, nil
}
