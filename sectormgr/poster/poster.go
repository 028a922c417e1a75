// Package poster is the WindowPoSt scheduler of `daemon run --poster` (and `mock --poster`):
// for every miner with [Miners.PoSt] Enabled it follows the chain head and, as each proving
// deadline opens, checks its sectors' files in the persist stores, declares the faults and
// recoveries of the deadline after next, proves the deadline's partitions and sends
// SubmitWindowedPoSt, then follows the messages until they land with PoSt.Confidence. A proof
// that fails on chain, or whose chain commit randomness a reorg replaced, is proven and sent
// again while the deadline is open.
//
// Every message is journaled before it is pushed, under the id the Sender pushes it with, so a
// manager killed mid-deadline pushes the same messages again after its restart and never a
// second SubmitWindowedPoSt for the same partitions; the deadline's PostSubmissions on chain
// tell which partitions are already proven.
package poster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("poster")

// JournalPrefix is where the scheduler keeps each deadline's messages.
const JournalPrefix = "poster/"

// DefaultPoll is how often the scheduler looks at the head when the config does not say.
const DefaultPoll = 5 * time.Second

// Deps are what the scheduler works with.
type Deps struct {
	Chain    chain.FullNode
	Sender   messager.Sender
	DB       statedb.DB
	Stores   proving.Locator
	Prover   postprover.Prover
	Verifier sealverify.Verifier
	Miners   func() []config.MinerConfig
	// Poll is how often the head is read (DefaultPoll when zero).
	Poll time.Duration
}

// Scheduler proves the deadlines of the configured miners.
type Scheduler struct {
	d Deps

	mu   sync.Mutex
	last map[abi.ActorID]Result // the last deadline each miner settled
}

// New is a scheduler over d; Run starts it.
func New(d Deps) *Scheduler {
	if d.Poll <= 0 {
		d.Poll = DefaultPoll
	}
	return &Scheduler{d: d, last: map[abi.ActorID]Result{}}
}

// Result is what one deadline came to, as the log line says it.
type Result struct {
	Miner       abi.ActorID
	Deadline    uint64
	PeriodStart abi.ChainEpoch
	Proven      int      // partitions proven by our messages, or already proven on chain
	Skipped     int      // sectors skipped in the proofs (missing or unreadable files)
	Faults      int      // sectors declared faulty for the deadline after next
	Recoveries  int      // sectors declared recovered for the deadline after next
	Messages    []string // CIDs of the SubmitWindowedPoSt messages that proved it
	Resent      int      // proofs given up and sent again (failed, or replaced by a reorg)
}

// Last is the last deadline the scheduler settled for a miner.
func (s *Scheduler) Last(actor abi.ActorID) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[actor]
	return r, ok
}

// Run works until ctx ends; a failing step is logged and tried again at the next poll while the
// deadline is open.
func (s *Scheduler) Run(ctx context.Context) {
	log.Infow("window post scheduler started", "poll", s.d.Poll, "prover", s.d.Prover.Name())
	tick := time.NewTicker(s.d.Poll)
	defer tick.Stop()
	for {
		for _, m := range s.d.Miners() {
			if !m.PoSt.Enabled {
				continue
			}
			if err := s.Step(ctx, m); err != nil && ctx.Err() == nil {
				log.Warnw("window post", "miner", m.Actor, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			log.Info("window post scheduler stopped")
			return
		case <-tick.C:
		}
	}
}

// record is a deadline's journal entry: its state and the messages pushed for it.
type record struct {
	Miner       abi.ActorID
	Deadline    uint64
	PeriodStart abi.ChainEpoch
	Declared    bool // faults and recoveries of the deadline after next are pushed
	Faults      int
	Recoveries  int
	Proofs      []pushed // SubmitWindowedPoSt that may still prove their partitions
	Declares    []pushed // DeclareFaults, DeclareFaultsRecovered
	// Reprove: a proof was given up (it failed, or a reorg replaced the tipset its chain commit
	// randomness came from), so its partitions are proven again unless the chain shows them.
	Reprove bool `json:",omitempty"`
	// Superseded are the proofs given up, kept for the record.
	Superseded []pushed `json:",omitempty"`
	Done       bool
}

// pushed is one journaled message: pushing the same ID again sends nothing new.
type pushed struct {
	ID         string
	Message    chain.Message
	Partitions []uint64 `json:",omitempty"`
	Skipped    int      `json:",omitempty"` // sectors a proof skips
	Cid        *cid.Cid `json:",omitempty"`
}

func recordKey(actor abi.ActorID, periodStart abi.ChainEpoch, dl uint64) string {
	return fmt.Sprintf("%s%d/%d/%02d", JournalPrefix, actor, periodStart, dl)
}

func (s *Scheduler) load(key string) (*record, error) {
	raw, err := s.d.DB.Get(key)
	if errors.Is(err, statedb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return &r, nil
}

// save persists r (fsync'd) before anything it records is pushed.
func (s *Scheduler) save(key string, r *record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.d.DB.Update(func(tx statedb.Txn) error { return tx.Put(key, raw) })
}

// Step does what the miner's current deadline needs now.
func (s *Scheduler) Step(ctx context.Context, mc config.MinerConfig) error {
	maddr, err := address.NewIDAddress(uint64(mc.Actor))
	if err != nil {
		return err
	}
	head, err := s.d.Chain.ChainHead(ctx)
	if err != nil {
		return err
	}
	tsk := head.Key()
	di, err := s.d.Chain.StateMinerProvingDeadline(ctx, maddr, tsk)
	if err != nil {
		return err
	}
	if head.Height < di.Challenge+abi.ChainEpoch(mc.PoSt.ChallengeConfidence) || di.HasElapsed() {
		return nil
	}
	key := recordKey(mc.Actor, di.PeriodStart, di.Index)
	rec, err := s.load(key)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &record{Miner: mc.Actor, Deadline: di.Index, PeriodStart: di.PeriodStart}
	}
	if rec.Done {
		return nil
	}
	run := &deadlineRun{s: s, mc: mc, maddr: maddr, head: head, di: di, key: key, rec: rec}
	return run.step(ctx)
}

// deadlineRun is one step on one deadline.
type deadlineRun struct {
	s     *Scheduler
	mc    config.MinerConfig
	maddr address.Address
	head  *chain.TipSet
	di    *dline.Info
	key   string
	rec   *record
	info  chain.MinerInfo
}

func (r *deadlineRun) step(ctx context.Context) error {
	var err error
	if r.info, err = r.s.d.Chain.StateMinerInfo(ctx, r.maddr, r.head.Key()); err != nil {
		return err
	}
	if err := r.repush(ctx); err != nil {
		return err
	}
	if !r.rec.Declared {
		if err := r.declare(ctx); err != nil {
			return fmt.Errorf("declare faults and recoveries of deadline %d: %w", (r.di.Index+2)%r.di.WPoStPeriodDeadlines, err)
		}
	}
	if err := r.settle(ctx); err != nil || r.rec.Done {
		return err
	}
	if len(r.rec.Proofs) == 0 || r.rec.Reprove {
		if err := r.prove(ctx); err != nil {
			return fmt.Errorf("prove deadline %d: %w", r.di.Index, err)
		}
	}
	return nil
}

// repush pushes again, under their ids, the messages of a run that stopped before it knew
// their CIDs: nothing is sent twice.
func (r *deadlineRun) repush(ctx context.Context) error {
	for _, list := range [][]pushed{r.rec.Declares, r.rec.Proofs} {
		for i := range list {
			if list[i].Cid != nil {
				continue
			}
			if err := r.push(ctx, &list[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// journalAndPush saves msg under a new id in the record, then pushes it.
func (r *deadlineRun) journalAndPush(ctx context.Context, list *[]pushed, msg chain.Message, partitions []uint64, skipped int) error {
	id, err := r.s.d.Sender.NewID(ctx, &msg)
	if err != nil {
		return err
	}
	*list = append(*list, pushed{ID: id, Message: msg, Partitions: partitions, Skipped: skipped})
	if err := r.s.save(r.key, r.rec); err != nil {
		return fmt.Errorf("journal the message before pushing it: %w", err)
	}
	return r.push(ctx, &(*list)[len(*list)-1])
}

func (r *deadlineRun) push(ctx context.Context, p *pushed) error {
	fee := r.mc.PoSt.FeeConfig
	c, err := r.s.d.Sender.Push(ctx, p.ID, &p.Message, messager.SendSpec{MaxFee: fee.MaxFee.TokenAmount(),
		GasOverEstimation: fee.GasOverEstimation, GasOverPremium: fee.GasOverPremium})
	if err != nil {
		return fmt.Errorf("push method %d: %w", p.Message.Method, err)
	}
	p.Cid = &c
	return r.s.save(r.key, r.rec)
}

func (r *deadlineRun) message(method abi.MethodNum, params cborMarshaler) (chain.Message, error) {
	raw, err := encode(params)
	if err != nil {
		return chain.Message{}, err
	}
	from := r.mc.PoSt.Sender.Std()
	if from == address.Undef {
		from = r.info.Worker
	}
	return chain.Message{To: r.maddr, From: from, Value: big.Zero(), Method: method, Params: raw,
		GasFeeCap: r.mc.PoSt.EffectiveGasFeeCap().TokenAmount(), GasPremium: big.Zero()}, nil
}

// sectorCheck tells which of the sectors have their files in the persist stores.
func (r *deadlineRun) sectorCheck(infos []*chain.SectorOnChainInfo) (good []postprover.SectorToProve, bad []abi.SectorNumber) {
	for _, si := range infos {
		sid := abi.SectorID{Miner: r.mc.Actor, Number: si.SectorNumber}
		upgrade := si.SectorKeyCID != nil
		st, err := r.checkFiles(sid, si.SealProof, upgrade)
		if err != nil {
			log.Warnw("sector not provable", "miner", r.mc.Actor, "sector", si.SectorNumber, "err", err)
			bad = append(bad, si.SectorNumber)
			continue
		}
		st.SectorInfo = proof.SectorInfo{SealProof: si.SealProof, SectorNumber: si.SectorNumber, SealedCID: si.SealedCID}
		good = append(good, st)
	}
	return good, bad
}

func (r *deadlineRun) checkFiles(sid abi.SectorID, sp abi.RegisteredSealProof, upgrade bool) (postprover.SectorToProve, error) {
	files, err := proving.CheckSector(r.s.d.Stores, sid, sp, upgrade, r.mc.PoSt.StrictCheck)
	if err != nil {
		return postprover.SectorToProve{}, err
	}
	return postprover.SectorToProve{SealedFile: files.SealedFile, CacheDir: files.CacheDir}, nil
}

// declare sends the faults and the recoveries of the deadline after next, whose fault cutoff
// is still ahead.
func (r *deadlineRun) declare(ctx context.Context) error {
	dl := (r.di.Index + 2) % r.di.WPoStPeriodDeadlines
	parts, err := r.s.d.Chain.StateMinerPartitions(ctx, r.maddr, dl, r.head.Key())
	if err != nil {
		return err
	}
	var faults []miner.FaultDeclaration
	var recoveries []miner.RecoveryDeclaration
	for idx, p := range parts {
		live, err := numbers(p.LiveSectors)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			continue
		}
		infos, err := r.s.d.Chain.StateMinerSectors(ctx, r.maddr, &p.LiveSectors, r.head.Key())
		if err != nil {
			return err
		}
		_, bad := r.sectorCheck(infos)
		faulty, err := numbers(p.FaultySectors)
		if err != nil {
			return err
		}
		recovering, err := numbers(p.RecoveringSectors)
		if err != nil {
			return err
		}
		if newFaults := intersect(minus(live, faulty), bad); len(newFaults) > 0 {
			faults = append(faults, miner.FaultDeclaration{Deadline: dl, Partition: uint64(idx), Sectors: bitfieldOf(newFaults)})
			r.rec.Faults += len(newFaults)
		}
		if back := minus(minus(faulty, recovering), bad); len(back) > 0 {
			recoveries = append(recoveries, miner.RecoveryDeclaration{Deadline: dl, Partition: uint64(idx), Sectors: bitfieldOf(back)})
			r.rec.Recoveries += len(back)
		}
	}
	if len(faults) > 0 {
		msg, err := r.message(builtin.MethodsMiner.DeclareFaults, &miner.DeclareFaultsParams{Faults: faults})
		if err != nil {
			return err
		}
		if err := r.journalAndPush(ctx, &r.rec.Declares, msg, nil, 0); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(recoveries, maxDeclarationsPerMessage(r.mc.PoSt.MaxPartitionsPerRecoveryMessage)) {
		msg, err := r.message(builtin.MethodsMiner.DeclareFaultsRecovered, &miner.DeclareFaultsRecoveredParams{Recoveries: batch})
		if err != nil {
			return err
		}
		if err := r.journalAndPush(ctx, &r.rec.Declares, msg, nil, 0); err != nil {
			return err
		}
	}
	r.rec.Declared = true
	return r.s.save(r.key, r.rec)
}

// prove builds and sends the proofs of the deadline's partitions not yet proven on chain.
func (r *deadlineRun) prove(ctx context.Context) error {
	tsk := r.head.Key()
	parts, err := r.s.d.Chain.StateMinerPartitions(ctx, r.maddr, r.di.Index, tsk)
	if err != nil {
		return err
	}
	dls, err := r.s.d.Chain.StateMinerDeadlines(ctx, r.maddr, tsk)
	if err != nil {
		return err
	}
	if uint64(len(dls)) <= r.di.Index {
		return fmt.Errorf("the node gave %d deadlines", len(dls))
	}
	proven, err := dls[r.di.Index].PostSubmissions.All(uint64(len(parts)) + 1)
	if err != nil {
		return err
	}
	type partitionProof struct {
		index   uint64
		good    []postprover.SectorToProve
		skipped []abi.SectorNumber
	}
	// One StateMinerSectors for the whole deadline, not one per partition: at 100 partitions
	// that is 100 node calls fewer in the window.
	covered := r.coveredPartitions()
	var toProve []bitfield.BitField
	var indexes []uint64
	for idx, p := range parts {
		if slices.Contains(proven, uint64(idx)) || slices.Contains(covered, uint64(idx)) {
			continue
		}
		faulty, err := bitfield.SubtractBitField(p.FaultySectors, p.RecoveringSectors)
		if err != nil {
			return err
		}
		bf, err := bitfield.SubtractBitField(p.LiveSectors, faulty)
		if err != nil {
			return err
		}
		if n, err := bf.Count(); err != nil || n == 0 {
			continue // nothing to prove here: only faulty sectors
		}
		toProve = append(toProve, bf)
		indexes = append(indexes, uint64(idx))
	}
	var todo []partitionProof
	if len(toProve) > 0 {
		all, err := bitfield.MultiMerge(toProve...)
		if err != nil {
			return err
		}
		infos, err := r.s.d.Chain.StateMinerSectors(ctx, r.maddr, &all, tsk)
		if err != nil {
			return err
		}
		byNumber := make(map[abi.SectorNumber]*chain.SectorOnChainInfo, len(infos))
		for _, si := range infos {
			byNumber[si.SectorNumber] = si
		}
		for i, bf := range toProve {
			nums, err := numbers(bf)
			if err != nil {
				return err
			}
			var mine []*chain.SectorOnChainInfo
			var unknown []abi.SectorNumber
			for _, n := range nums {
				if si, ok := byNumber[n]; ok {
					mine = append(mine, si)
				} else {
					unknown = append(unknown, n) // the node lists it live but has no info: skip it, or the proof fails
				}
			}
			good, bad := r.sectorCheck(mine)
			bad = append(bad, unknown...)
			todo = append(todo, partitionProof{index: indexes[i], good: good, skipped: bad})
		}
	}
	if len(todo) == 0 {
		r.rec.Reprove = false
		if len(r.rec.Proofs) == 0 {
			r.rec.Done = true
			r.finish(len(proven))
		}
		return r.s.save(r.key, r.rec)
	}
	rand, err := r.s.d.Chain.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_WindowedPoStChallengeSeed, r.di.Challenge, entropy(r.maddr), tsk)
	if err != nil {
		return err
	}
	commitEpoch := r.di.Open
	if r.head.Height <= commitEpoch {
		commitEpoch = r.head.Height - 1
	}
	commitRand, err := r.s.d.Chain.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_PoStChainCommit, commitEpoch, nil, tsk)
	if err != nil {
		return err
	}
	per := maxPartitionsPerMessage(r.info.WindowPoStProofType, r.mc.PoSt.MaxPartitionsPerPoStMessage)
	var batches []*proofBatch
	for part := range slices.Chunk(todo, per) {
		b := &proofBatch{params: &miner.SubmitWindowedPoStParams{Deadline: r.di.Index, ChainCommitEpoch: commitEpoch, ChainCommitRand: commitRand}}
		for _, p := range part {
			b.sectors = append(b.sectors, p.good...)
			b.params.Partitions = append(b.params.Partitions, miner.PoStPartition{Index: p.index, Skipped: bitfieldOf(p.skipped)})
			b.indexes = append(b.indexes, p.index)
			b.skipped += len(p.skipped)
		}
		batches = append(batches, b)
	}
	if err := r.generateAll(batches, abi.PoStRandomness(rand)); err != nil {
		return err
	}
	for _, b := range batches {
		msg, err := r.message(builtin.MethodsMiner.SubmitWindowedPoSt, b.params)
		if err != nil {
			return err
		}
		if err := r.journalAndPush(ctx, &r.rec.Proofs, msg, b.indexes, b.skipped); err != nil {
			return err
		}
	}
	r.rec.Reprove = false
	return r.s.save(r.key, r.rec)
}

// coveredPartitions are the partitions of the proofs still in flight.
func (r *deadlineRun) coveredPartitions() []uint64 {
	var out []uint64
	for _, p := range r.rec.Proofs {
		out = append(out, p.Partitions...)
	}
	return out
}

// proofBatch is the partitions of one SubmitWindowedPoSt and their proof.
type proofBatch struct {
	params  *miner.SubmitWindowedPoStParams
	sectors []postprover.SectorToProve
	indexes []uint64
	skipped int
}

// generateAll proves every batch: one after the other, or all at once with PoSt.Parallel.
// Nothing is pushed unless every batch is proven.
func (r *deadlineRun) generateAll(batches []*proofBatch, rand abi.PoStRandomness) error {
	errs := make([]error, len(batches))
	prove := func(i int) {
		batches[i].params.Proofs, errs[i] = r.generate(batches[i].sectors, rand)
	}
	if !r.mc.PoSt.Parallel || len(batches) == 1 {
		for i := range batches {
			if prove(i); errs[i] != nil {
				return errs[i]
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for i := range batches {
		wg.Go(func() { prove(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// generate proves the sectors and checks the proof before it is sent. A batch whose every
// sector is skipped still needs a proof: an empty one.
func (r *deadlineRun) generate(sectors []postprover.SectorToProve, rand abi.PoStRandomness) ([]proof.PoStProof, error) {
	postProof := r.info.WindowPoStProofType
	if len(sectors) == 0 {
		return []proof.PoStProof{{PoStProof: postProof, ProofBytes: []byte{}}}, nil
	}
	start := time.Now()
	proofs, err := r.s.d.Prover.GenerateWindowPoSt(r.mc.Actor, postProof, sectors, rand)
	if err != nil {
		return nil, fmt.Errorf("generate window post of %d sectors: %w", len(sectors), err)
	}
	infos := make([]proof.SectorInfo, len(sectors))
	for i, s := range sectors {
		infos[i] = s.SectorInfo
	}
	ok, err := r.s.d.Verifier.VerifyWindowPoSt(proof.WindowPoStVerifyInfo{Randomness: rand, Proofs: proofs, ChallengedSectors: infos, Prover: r.mc.Actor})
	if err != nil || !ok {
		return nil, fmt.Errorf("our own window post of %d sectors does not verify (%v): not sent", len(sectors), err)
	}
	log.Debugw("window post generated", "miner", r.mc.Actor, "deadline", r.di.Index, "sectors", len(sectors), "took", time.Since(start))
	return proofs, nil
}

// settle follows the pushed proofs: the deadline is done once every proof landed with
// PoSt.Confidence. A proof that failed, or whose chain commit randomness a reorg replaced (it
// can only fail now), is given up, and the step proves its partitions again while the
// deadline is open, unless the chain shows them proven.
func (r *deadlineRun) settle(ctx context.Context) error {
	landed := 0
	commits := map[abi.ChainEpoch]abi.Randomness{} // the current chain's, one node call per epoch
	for i := 0; i < len(r.rec.Proofs); i++ {
		p := r.rec.Proofs[i]
		st, err := r.s.d.Sender.State(ctx, *p.Cid)
		if err != nil {
			return err
		}
		failed := st.Status == messager.Failed || st.Status == messager.OnChain && st.Receipt != nil && st.Receipt.ExitCode != 0
		if !failed && st.Status == messager.OnChain && st.Confidence >= int64(r.mc.PoSt.Confidence) {
			landed++
			continue
		}
		why := "window post message failed: proving again what the chain does not show proven"
		if !failed {
			stale, err := r.staleCommit(ctx, p, commits)
			if err != nil {
				return err
			}
			if !stale {
				continue
			}
			why = "chain reorg: the tipset of the proof's chain commit epoch was replaced; proving again"
		}
		log.Warnw(why, "miner", r.mc.Actor, "deadline", r.di.Index, "message", p.Cid, "receipt", st.Receipt)
		r.rec.Superseded = append(r.rec.Superseded, p)
		r.rec.Proofs = slices.Delete(r.rec.Proofs, i, i+1)
		r.rec.Reprove = true
		i--
		if err := r.s.save(r.key, r.rec); err != nil {
			return err
		}
	}
	if len(r.rec.Proofs) == 0 || landed < len(r.rec.Proofs) || r.rec.Reprove {
		return nil
	}
	r.rec.Done = true
	if err := r.s.save(r.key, r.rec); err != nil {
		return err
	}
	r.finish(len(r.coveredPartitions()))
	return nil
}

// staleCommit tells whether the proof's ChainCommitRand is no longer the chain's at its
// ChainCommitEpoch: a reorg replaced that tipset, and the actor will refuse the proof.
func (r *deadlineRun) staleCommit(ctx context.Context, p pushed, commits map[abi.ChainEpoch]abi.Randomness) (bool, error) {
	var params miner.SubmitWindowedPoStParams
	if err := params.UnmarshalCBOR(bytes.NewReader(p.Message.Params)); err != nil {
		return false, fmt.Errorf("decode the journaled proof %s: %w", p.ID, err)
	}
	rand, ok := commits[params.ChainCommitEpoch]
	if !ok {
		var err error
		rand, err = r.s.d.Chain.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_PoStChainCommit, params.ChainCommitEpoch, nil, r.head.Key())
		if err != nil {
			return false, err
		}
		commits[params.ChainCommitEpoch] = rand
	}
	return !bytes.Equal(rand, params.ChainCommitRand), nil
}

func (r *deadlineRun) finish(proven int) {
	res := Result{Miner: r.mc.Actor, Deadline: r.di.Index, PeriodStart: r.di.PeriodStart, Proven: proven,
		Faults: r.rec.Faults, Recoveries: r.rec.Recoveries, Resent: len(r.rec.Superseded)}
	for _, p := range r.rec.Proofs {
		res.Messages = append(res.Messages, p.Cid.String())
		res.Skipped += p.Skipped
	}
	r.s.mu.Lock()
	r.s.last[r.mc.Actor] = res
	r.s.mu.Unlock()
	if proven == 0 && res.Faults == 0 && res.Recoveries == 0 {
		log.Debugw("deadline with nothing to prove", "miner", r.mc.Actor, "deadline", r.di.Index, "period_start", r.di.PeriodStart)
		return
	}
	log.Infow("deadline proven", "miner", r.mc.Actor, "deadline", r.di.Index, "period_start", r.di.PeriodStart,
		"partitions", proven, "skipped", res.Skipped, "faults_declared", res.Faults, "recoveries_declared", res.Recoveries,
		"messages", res.Messages, "resent", res.Resent)
}

// maxPartitionsPerMessage is the config's limit, or the actors' (AddressedSectorsMax over the
// partition size, at most DeclarationsMax) when it is 0.
func maxPartitionsPerMessage(pp abi.RegisteredPoStProof, configured uint64) int {
	size, err := builtin.PoStProofWindowPoStPartitionSectors(pp)
	limit := uint64(miner.DeclarationsMax)
	if err == nil && size > 0 {
		limit = min(limit, uint64(miner.AddressedSectorsMax)/size)
	}
	if configured > 0 {
		limit = min(limit, configured)
	}
	return int(max(limit, 1))
}

// maxDeclarationsPerMessage is the config's limit of partitions per recovery message, or the
// actor's (DeclarationsMax) when it is 0.
func maxDeclarationsPerMessage(configured uint64) int {
	limit := uint64(miner.DeclarationsMax)
	if configured > 0 {
		limit = min(limit, configured)
	}
	return int(limit)
}

type cborMarshaler interface {
	MarshalCBOR(w io.Writer) error
}

func encode(v cborMarshaler) ([]byte, error) {
	var buf bytes.Buffer
	if err := v.MarshalCBOR(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func entropy(maddr address.Address) []byte {
	var buf bytes.Buffer
	if err := maddr.MarshalCBOR(&buf); err != nil {
		panic(err) // an ID address always serialises
	}
	return buf.Bytes()
}

func numbers(bf bitfield.BitField) ([]abi.SectorNumber, error) {
	all, err := bf.All(1 << 20)
	if err != nil {
		return nil, err
	}
	out := make([]abi.SectorNumber, len(all))
	for i, n := range all {
		out[i] = abi.SectorNumber(n)
	}
	return out, nil
}

func bitfieldOf(nums []abi.SectorNumber) bitfield.BitField {
	u := make([]uint64, len(nums))
	for i, n := range nums {
		u[i] = uint64(n)
	}
	return bitfield.NewFromSet(u)
}

func minus(a, b []abi.SectorNumber) []abi.SectorNumber {
	var out []abi.SectorNumber
	for _, n := range a {
		if !slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

func intersect(a, b []abi.SectorNumber) []abi.SectorNumber {
	var out []abi.SectorNumber
	for _, n := range a {
		if slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}
