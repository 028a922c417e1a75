package sealing

import (
	"path/filepath"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// input is a file (or directory) in the sealing location that a state relies on: the output of
// a step already done that a later step reads.
type input struct {
	what string
	path string
	dir  bool
}

// sealerInputs lists what the sealer plan needs in the location to go on from the job's state.
// Steps up to AddPiece make their own files; from C1Done on, the proof is in the record and the
// sealed files are in the persist store.
func (j *job) sealerInputs() ([]input, *Failure) {
	st := j.rec.State
	if st < TreeDBuilt || st > SeedAssigned {
		return nil, nil
	}
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	loc := j.t.Loc
	cache := loc.Cache(s.ID)
	if st <= TicketAssigned {
		return []input{
			{what: "staged file", path: loc.Unsealed(s.ID)},
			{what: "tree_d", path: filepath.Join(loc.Prepared(s.ID), store.TreeDFileName)},
		}, nil
	}
	ins := []input{
		{what: "cache dir", path: cache, dir: true},
		{what: "tree_d", path: filepath.Join(cache, store.TreeDFileName)},
		{what: "sealed file", path: loc.Sealed(s.ID)},
	}
	if st == PC1Done {
		return ins, nil
	}
	size, f := j.sectorSize()
	if f != nil {
		return nil, f
	}
	for _, name := range store.CachedFileNames(size) {
		ins = append(ins, input{what: "cache file", path: filepath.Join(cache, name)})
	}
	return ins, nil
}

// checkInputs is run when a job is opened (at start, after a restart, on resume): a job whose
// files are gone pauses at once with an error naming the first missing one, instead of running
// on until a step fails on it (or waiting for a seed first).
func (j *job) checkInputs() *Failure {
	if j.planner.name() != "sealer" {
		return nil
	}
	ins, f := j.sealerInputs()
	if f != nil {
		return f
	}
	for _, in := range ins {
		var err error
		if in.dir {
			err = store.RequireDir(in.path, in.what)
		} else {
			_, err = store.RequireFile(in.path, in.what)
		}
		if err != nil {
			return perm("sector %s in state %s: %w (resume with --state Aborted to drop the sector, or with an earlier state to make the file again)",
				api.FormatSectorID(j.rec.Base.Allocated.ID), j.rec.State, err)
		}
	}
	return nil
}
