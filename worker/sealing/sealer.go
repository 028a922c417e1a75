package sealing

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// resubmitWait is how long a thread waits before re-submitting a message the chain failed.
var resubmitWait = 30 * time.Second

// sealer is the plan that seals a new sector (spec/worker.md §6.2).
type sealer struct{ transitions }

func (sealer) name() string { return "sealer" }

type transition struct {
	from State
	ev   EventKind
}

// transitions is a plan's table: (state, event) → next state.
type transitions map[transition]State

func (t transitions) next(from State, ev EventKind) (State, bool) {
	to, ok := t[transition{from, ev}]
	return to, ok
}

var sealerTable = transitions{
	{Empty, EvAllocate}:                  Allocated,
	{Allocated, EvAcquireDeals}:          DealsAcquired,
	{DealsAcquired, EvAddPiece}:          PieceAdded,
	{PieceAdded, EvBuildTreeD}:           TreeDBuilt,
	{TreeDBuilt, EvAssignTicket}:         TicketAssigned,
	{TicketAssigned, EvPC1}:              PC1Done,
	{PC1Done, EvPC2}:                     PC2Done,
	{PC2Done, EvSubmitPC}:                PCSubmitted,
	{PCSubmitted, EvReSubmitPC}:          PC2Done,
	{PCSubmitted, EvCheckPC}:             PCLanded,
	{PCLanded, EvPersist}:                Persisted,
	{Persisted, EvSubmitPersistance}:     PersistanceSubmitted,
	{PersistanceSubmitted, EvAssignSeed}: SeedAssigned,
	{SeedAssigned, EvC1}:                 C1Done,
	{C1Done, EvC2}:                       C2Done,
	{C2Done, EvSubmitProof}:              ProofSubmitted,
	{ProofSubmitted, EvReSubmitProof}:    C2Done,
	{ProofSubmitted, EvFinish}:           Finished,
}

func (s sealer) handle(j *job) (*Event, *Failure) {
	switch j.rec.State {
	case Empty:
		return j.allocate()
	case Allocated:
		return j.acquireDeals()
	case DealsAcquired:
		return j.addPieces()
	case PieceAdded:
		return j.buildTreeD(true)
	case TreeDBuilt:
		return event(EvAssignTicket, nil), nil
	case TicketAssigned:
		return j.stage(processor.StagePC1, j.pc1)
	case PC1Done:
		return j.stage(processor.StagePC2, j.pc2)
	case PC2Done:
		return j.submitPreCommit()
	case PCSubmitted:
		return j.pollPreCommit()
	case PCLanded:
		return j.persistSealed()
	case Persisted:
		return j.submitPersisted()
	case PersistanceSubmitted:
		return j.waitSeed()
	case SeedAssigned:
		return j.stage(processor.StageC1, j.c1)
	case C1Done:
		return j.stage(processor.StageC2, j.c2)
	case C2Done:
		return j.submitProof()
	case ProofSubmitted:
		return j.pollProof()
	default:
		return j.endOf(s.name())
	}
}

// endOf handles the states every plan ends in, and any state the plan does not know.
func (j *job) endOf(plan string) (*Event, *Failure) {
	switch j.rec.State {
	case Finished:
		return j.reportFinalized()
	case Aborted:
		return nil, abort("task aborted")
	default:
		return nil, abort("unexpected state %s in %s planner", j.rec.State, plan)
	}
}

// drained tells an empty thread to take no sector now: it asks again every recover_interval, so an
// undrain takes effect without a restart.
func (j *job) drained() bool {
	if !j.t.env.Drain.On() {
		return false
	}
	j.log.Debug("worker drained: no new sector")
	return true
}

// allocateStopGrace is how long an allocation in flight may still take once the worker is told
// to stop.
const allocateStopGrace = 10 * time.Second

func (j *job) allocate() (*Event, *Failure) {
	if j.drained() {
		return event(EvRetry, nil), nil
	}
	o := j.t.Opts
	// A stop (SIGTERM) does not cut the call short: the manager persists the number before it
	// answers, so a reply nobody reads would consume the number for nothing (an orphan
	// allocation). The answer is persisted by the next transition, then the thread stops.
	ctx, cancel := detach(j.ctx, allocateStopGrace)
	defer cancel()
	sector, err := j.t.env.RPC.AllocateSector(ctx, api.AllocateSectorSpec{AllowedMiners: o.AllowedMiners, AllowedProofTypes: o.AllowedProofTypes})
	if err != nil {
		j.log.Warnw("allocate sector", "err", err)
		return event(EvRetry, nil), nil
	}
	if sector == nil {
		j.log.Debug("no sector allocated")
		return event(EvRetry, nil), nil
	}
	loc := j.t.Loc
	for _, dir := range []string{loc.Cache(sector.ID), filepath.Dir(loc.Unsealed(sector.ID)), filepath.Dir(loc.Sealed(sector.ID))} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, crit("prepare sector dir %s: %w", dir, err)
		}
	}
	proverID, err := abi.MakeProverID(sector.ID.Miner)
	if err != nil {
		return nil, crit("prover id of miner %d: %w", sector.ID.Miner, err)
	}
	alloc := *sector
	return event(EvAllocate, func(r *Record) {
		r.Base = &Base{Allocated: alloc, ProveInput: ProveInput{ProverID: proverID, Number: alloc.ID.Number}}
	}), nil
}

func (j *job) acquireDeals() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	o := j.t.Opts
	if !o.EnableDeals {
		return event(EvAcquireDeals, func(r *Record) { r.Deals = nil }), nil
	}
	for {
		deals, err := j.t.env.RPC.AcquireDeals(j.ctx, s.ID, api.AcquireDealsSpec{MaxDeals: o.MaxDeals, MinUsedSpace: o.MinDealSpace})
		if err != nil {
			return nil, rpcFailure("AcquireDeals", err)
		}
		if !o.DisableCC || len(deals) > 0 {
			return event(EvAcquireDeals, func(r *Record) { r.Deals = deals }), nil
		}
		j.log.Debug("no deals yet and disable_cc is set, waiting")
		if f := j.t.Ctrl.sleep(j.ctx, o.RPCPollingInterval); f != nil {
			return nil, f
		}
	}
}

func (j *job) addPieces() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if err := os.MkdirAll(filepath.Dir(j.t.Loc.Unsealed(s.ID)), 0o755); err != nil {
		return nil, crit("prepare staged file dir: %w", err)
	}
	size, f := j.sectorSize()
	if f != nil {
		return nil, f
	}
	return j.timed(StageAddPiece, func() (*Event, *Failure) {
		pieces, f := j.writeStaged(j.t.Loc.Unsealed(s.ID), size, j.rec.Deals)
		if f != nil {
			return nil, f
		}
		return event(EvAddPiece, func(r *Record) { r.Phases.Pieces = pieces }), nil
	})
}

// StageAddPiece names the writing of the staged file in the stage metrics (it has no processor).
const StageAddPiece = "add_piece"

// buildTreeD builds the data tree of the staged file into prepared/<s>, or links the static one for
// CC sectors when allowed (spec/worker.md §6.4).
func (j *job) buildTreeD(allowStatic bool) (*Event, *Failure) {
	return j.stage(processor.StageTreeD, func() (*Event, *Failure) {
		s, f := j.sector()
		if f != nil {
			return nil, f
		}
		size, f := j.sectorSize()
		if f != nil {
			return nil, f
		}
		prepared := j.t.Loc.Prepared(s.ID)
		if err := os.MkdirAll(prepared, 0o755); err != nil {
			return nil, crit("create %s: %w", prepared, err)
		}
		treeD := filepath.Join(prepared, store.TreeDFileName)
		if err := removeIfExists(treeD); err != nil {
			return nil, crit("%w", err)
		}
		if static, ok := j.t.env.StaticTreeD[size]; ok && allowStatic && len(j.rec.Deals) == 0 {
			if err := os.Symlink(static, treeD); err != nil {
				return nil, crit("link static tree_d %s: %w", static, err)
			}
			return event(EvBuildTreeD, nil), nil
		}
		task := processor.TreeDInput{RegisteredProof: processor.SealProof(s.ProofType), StagedFile: j.t.Loc.Unsealed(s.ID), CacheDir: prepared}
		err := j.counted(processor.StageTreeD, int64(size), func(ctx context.Context) error {
			_, err := j.t.env.Procs.TreeD.Process(ctx, task)
			return err
		})
		if err != nil {
			return nil, perm("build tree_d: %w", err)
		}
		return event(EvBuildTreeD, nil), nil
	})
}

func (j *job) pc1() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	ticket, err := j.t.env.RPC.AssignTicket(j.ctx, s.ID)
	if err != nil {
		return nil, rpcFailure("AssignTicket", err)
	}
	ticketBytes, f := bytes32("ticket", ticket.Ticket)
	if f != nil {
		return nil, f
	}
	if len(j.rec.Phases.Pieces) == 0 {
		return nil, abort("pieces is required")
	}
	loc := j.t.Loc
	cache, sealed := loc.Cache(s.ID), loc.Sealed(s.ID)
	if err := os.RemoveAll(cache); err != nil {
		return nil, crit("wipe cache dir %s: %w", cache, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, crit("create cache dir %s: %w", cache, err)
	}
	if err := os.WriteFile(sealed, nil, 0o644); err != nil {
		return nil, crit("truncate sealed file %s: %w", sealed, err)
	}
	if err := os.Symlink(filepath.Join(loc.Prepared(s.ID), store.TreeDFileName), filepath.Join(cache, store.TreeDFileName)); err != nil {
		return nil, crit("link tree_d into cache dir: %w", err)
	}
	task := processor.PC1Input{
		RegisteredProof: processor.SealProof(s.ProofType),
		CachePath:       cache,
		InPath:          loc.Unsealed(s.ID),
		OutPath:         sealed,
		ProverID:        j.rec.Base.ProveInput.ProverID,
		SectorID:        s.ID.Number,
		Ticket:          ticketBytes,
		PieceInfos:      j.rec.Phases.Pieces,
	}
	out, err := j.t.env.Procs.PC1.Process(j.ctx, task)
	if err != nil {
		return nil, perm("pc1: %w", err)
	}
	return event(EvPC1, func(r *Record) { r.Phases.Ticket, r.Phases.PC1Out = &ticket, out }), nil
}

func (j *job) pc2() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if len(j.rec.Phases.PC1Out) == 0 {
		return nil, abort("pc1out is required")
	}
	cache := j.t.Loc.Cache(s.ID)
	if err := removePC2Outputs(cache); err != nil {
		return nil, crit("%w", err)
	}
	out, err := j.t.env.Procs.PC2.Process(j.ctx, processor.PC2Input{PC1Out: j.rec.Phases.PC1Out, CacheDir: cache, SealedFile: j.t.Loc.Sealed(s.ID)})
	if err != nil {
		return nil, perm("pc2: %w", err)
	}
	return event(EvPC2, func(r *Record) { r.Phases.PC2Out = &out }), nil
}

// removePC2Outputs deletes what an interrupted PC2 may have left, so a re-run starts clean.
func removePC2Outputs(cache string) error {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return fmt.Errorf("read cache dir %s: %w", cache, err)
	}
	for _, e := range entries {
		n := e.Name()
		if n == "p_aux" || n == "t_aux" || strings.Contains(n, "tree-c") || strings.Contains(n, "tree-r-last") {
			if err := os.RemoveAll(filepath.Join(cache, n)); err != nil {
				return fmt.Errorf("remove %s: %w", n, err)
			}
		}
	}
	return nil
}

func (j *job) submitPreCommit() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	ph := j.rec.Phases
	if ph.PC2Out == nil {
		return nil, abort("pc2out is required")
	}
	if ph.Ticket == nil {
		return nil, abort("ticket is required")
	}
	info := api.PreCommitOnChainInfo{CommR: ph.PC2Out.CommR, CommD: ph.PC2Out.CommD, Ticket: *ph.Ticket, Deals: dealIDs(j.rec.Deals)}
	res, err := j.t.env.RPC.SubmitPreCommit(j.ctx, s, info, ph.PC2ReSubmit)
	if err != nil {
		return nil, rpcFailure("SubmitPreCommit", err)
	}
	return submitted("pre-commit", res, event(EvSubmitPC, func(r *Record) { r.Phases.PC2ReSubmit = false }))
}

func dealIDs(deals api.Deals) []abi.DealID {
	ids := make([]abi.DealID, 0, len(deals))
	for _, d := range deals {
		if d.ID != 0 {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// submitted maps a submission verdict to the next event or a failure (spec/worker.md §6.2).
func submitted(what string, res api.SubmitPreCommitResp, ok *Event) (*Event, *Failure) {
	desc := "NULL"
	if res.Desc != nil {
		desc = *res.Desc
	}
	switch res.Res {
	case api.SubmitAccepted, api.SubmitDuplicateSubmit:
		return ok, nil
	case api.SubmitMismatchedSubmission:
		return nil, perm("%s mismatched: %s", what, desc)
	case api.SubmitRejected:
		return nil, abort("%s rejected: %s", what, desc)
	case api.SubmitFilesMissed:
		return nil, perm("%s files missed: %s", what, desc)
	default:
		return nil, temp("unexpected %s submit result %d", what, uint64(res.Res))
	}
}

// pollOnChain polls a submitted message until it lands, waiting rpc_polling_interval while it is
// pending, and 30s before a re-submission when the chain failed it.
func (j *job) pollOnChain(what string, poll func() (api.PollPreCommitStateResp, error), landed, resubmit *Event) (*Event, *Failure) {
	for {
		st, err := poll()
		if err != nil {
			return nil, rpcFailure("Poll"+what+"State", err)
		}
		desc := "NULL"
		if st.Desc != nil {
			desc = *st.Desc
		}
		switch st.State {
		case api.OnChainLanded:
			return landed, nil
		case api.OnChainPending, api.OnChainPacked:
			j.log.Debugw("waiting for on-chain state", "what", what, "state", st.State)
			if f := j.t.Ctrl.sleep(j.ctx, j.t.Opts.RPCPollingInterval); f != nil {
				return nil, f
			}
		case api.OnChainFailed:
			j.log.Warnw("on-chain message failed, will re-submit", "what", what, "desc", desc)
			if f := j.t.Ctrl.sleep(j.ctx, resubmitWait); f != nil {
				return nil, f
			}
			return resubmit, nil
		case api.OnChainNotFound:
			return nil, perm("%s not found on chain: %s", what, desc)
		case api.OnChainPermFailed:
			return nil, perm("%s permanently failed: %s", what, desc)
		case api.OnChainShouldAbort:
			return nil, abort("%s should abort: %s", what, desc)
		default:
			return nil, temp("unexpected %s on-chain state %d", what, uint64(st.State))
		}
	}
}

func (j *job) pollPreCommit() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	return j.pollOnChain("PreCommit",
		func() (api.PollPreCommitStateResp, error) { return j.t.env.RPC.PollPreCommitState(j.ctx, s.ID) },
		event(EvCheckPC, nil),
		event(EvReSubmitPC, func(r *Record) { r.Phases.PC2ReSubmit = true }))
}

func (j *job) persistSealed() (*Event, *Failure) {
	return j.persist(j.t.Loc.Sealed, j.t.Loc.Cache)
}

func (j *job) submitPersisted() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if j.rec.Phases.PersistInstance == nil {
		return nil, abort("persist_instance is required")
	}
	ok, err := j.t.env.RPC.SubmitPersisted(j.ctx, s.ID, *j.rec.Phases.PersistInstance)
	if err != nil {
		return nil, rpcFailure("SubmitPersisted", err)
	}
	if !ok {
		return nil, perm("sector files are persisted but unavailable for sealer")
	}
	return event(EvSubmitPersistance, nil), nil
}

func (j *job) waitSeed() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	for {
		resp, err := j.t.env.RPC.WaitSeed(j.ctx, s.ID)
		if err != nil {
			return nil, rpcFailure("WaitSeed", err)
		}
		if resp.Seed != nil {
			seed := *resp.Seed
			return event(EvAssignSeed, func(r *Record) { r.Phases.Seed = &seed }), nil
		}
		if !resp.ShouldWait || resp.Delay <= 0 {
			return nil, temp("invalid empty seed: should_wait=%v, delay=%d", resp.ShouldWait, resp.Delay)
		}
		j.log.Infow("waiting for seed", "delay_secs", resp.Delay)
		if f := j.t.Ctrl.sleep(j.ctx, time.Duration(resp.Delay)*time.Second); f != nil {
			return nil, f
		}
	}
}

func (j *job) c1() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	ph := j.rec.Phases
	if ph.Ticket == nil || ph.Seed == nil || ph.PC2Out == nil {
		return nil, abort("ticket, seed and pc2out are required")
	}
	ticket, f := bytes32("ticket", ph.Ticket.Ticket)
	if f != nil {
		return nil, f
	}
	seed, f := bytes32("seed", ph.Seed.Seed)
	if f != nil {
		return nil, f
	}
	task := processor.C1Input{
		RegisteredProof: processor.SealProof(s.ProofType),
		CachePath:       j.t.Loc.Cache(s.ID),
		ReplicaPath:     j.t.Loc.Sealed(s.ID),
		ProverID:        j.rec.Base.ProveInput.ProverID,
		SectorID:        s.ID.Number,
		Ticket:          ticket,
		Seed:            seed,
		PC2Out:          *ph.PC2Out,
		PieceInfos:      ph.Pieces,
	}
	out, err := j.t.env.Procs.C1.Process(j.ctx, task)
	if err != nil {
		return nil, perm("c1: %w", err)
	}
	return event(EvC1, func(r *Record) { r.Phases.C1Out = out }), nil
}

func (j *job) c2() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if len(j.rec.Phases.C1Out) == 0 {
		return nil, abort("c1out is required")
	}
	task := processor.C2Input{C1Out: j.rec.Phases.C1Out, ProverID: j.rec.Base.ProveInput.ProverID, SectorID: s.ID.Number, MinerID: s.ID.Miner}
	out, err := j.t.env.Procs.C2.Process(j.ctx, task)
	if err != nil {
		return nil, perm("c2: %w", err)
	}
	return event(EvC2, func(r *Record) { r.Phases.C2Out = &out }), nil
}

func (j *job) submitProof() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if j.rec.Phases.C2Out == nil {
		return nil, abort("c2out is required")
	}
	res, err := j.t.env.RPC.SubmitProof(j.ctx, s.ID, api.ProofOnChainInfo{Proof: j.rec.Phases.C2Out.Proof}, j.rec.Phases.C2ReSubmit)
	if err != nil {
		return nil, rpcFailure("SubmitProof", err)
	}
	return submitted("proof", res, event(EvSubmitProof, func(r *Record) { r.Phases.C2ReSubmit = false }))
}

func (j *job) pollProof() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	if !j.t.Opts.IgnoreProofCheck {
		ev, f := j.pollOnChain("Proof",
			func() (api.PollPreCommitStateResp, error) { return j.t.env.RPC.PollProofState(j.ctx, s.ID) },
			event(EvFinish, nil),
			event(EvReSubmitProof, func(r *Record) { r.Phases.C2ReSubmit = true }))
		if f != nil || ev.Kind != EvFinish {
			return ev, f
		}
	}
	size, f := j.sectorSize()
	if f != nil {
		return nil, f
	}
	if err := clearCache(j.t.Loc.Cache(s.ID), size); err != nil {
		return nil, temp("clear cache: %w", err)
	}
	return event(EvFinish, nil), nil
}

// clearCache drops the PC1/PC2 intermediates of a proven sector, keeping what proving needs.
func clearCache(cache string, size abi.SectorSize) error {
	keep := map[string]bool{}
	for _, n := range store.CachedFileNames(size) {
		keep[n] = true
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		return fmt.Errorf("read cache dir %s: %w", cache, err)
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(cache, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportFinalized tells the manager the sector is done; until it knows, the job stays.
func (j *job) reportFinalized() (*Event, *Failure) {
	s, f := j.sector()
	if f != nil {
		return nil, f
	}
	// Every report of this sector reaches the manager before it hears the sector is done.
	j.t.flushReports()
	if err := j.t.env.RPC.ReportFinalized(j.ctx, s.ID); err != nil {
		return nil, rpcFailure("ReportFinalized", err)
	}
	return nil, nil
}

func bytes32(name string, b []byte) ([32]byte, *Failure) {
	var out [32]byte
	if len(b) != 32 {
		return out, temp("%s must be 32 bytes, got %d", name, len(b))
	}
	copy(out[:], b)
	return out, nil
}

// detach is a context that outlives parent's cancellation by grace: for a call whose answer must
// be read once it is sent.
func detach(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() { time.AfterFunc(grace, cancel) })
	return ctx, func() {
		stop()
		cancel()
	}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
