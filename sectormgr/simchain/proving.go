package simchain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// The miner's WindowPoSt, as the actor keeps it: every active sector is in one partition of one
// of the 48 deadlines; a partition not proven by the close of its deadline has its sectors
// faulted; faults and recoveries are declared for a deadline before its fault cutoff, and a
// recovery counts once the partition is proven with it.

// Deadline is one of a miner's 48 deadlines. Proven lists the partitions proven in the window of
// ProvenPeriod (the period start), the actor's PostSubmissions.
type Deadline struct {
	Partitions   []*Partition
	Proven       []uint64
	ProvenPeriod abi.ChainEpoch
}

// Partition is a set of sectors proven together. Faulty includes Recovering.
type Partition struct {
	Sectors    []abi.SectorNumber
	Faulty     []abi.SectorNumber
	Recovering []abi.SectorNumber
}

// PoStEvent is what happened to a deadline when it closed, for tests to read.
type PoStEvent struct {
	Miner       abi.ActorID
	Deadline    uint64
	PeriodStart abi.ChainEpoch
	Proven      []uint64 // partitions proven in the window
	Missed      []uint64 // partitions not proven: their sectors were faulted
	Faulty      int      // faulty sectors of the deadline after the close
}

func (m *minerState) deadlinesOrInit() []*Deadline {
	if len(m.deadlines) != int(miner.WPoStPeriodDeadlines) {
		m.deadlines = make([]*Deadline, miner.WPoStPeriodDeadlines)
	}
	for i, d := range m.deadlines {
		if d == nil {
			m.deadlines[i] = &Deadline{}
		}
	}
	return m.deadlines
}

// deadlineAt is the miner's deadline of height h (open or not yet).
func (c *Chain) deadlineAt(actor abi.ActorID, h abi.ChainEpoch) *dline.Info {
	start := c.provingPeriodStart(actor, h)
	idx := uint64((h - start) / miner.WPoStChallengeWindow)
	return dline.NewInfo(start, idx, h, miner.WPoStPeriodDeadlines, miner.WPoStProvingPeriod,
		miner.WPoStChallengeWindow, miner.WPoStChallengeLookback, miner.FaultDeclarationCutoff)
}

// assignLocked puts newly activated sectors into the partitions of the deadline two after the
// current one, so that neither the open nor the next deadline changes under the miner's feet.
func (c *Chain) assignLocked(m *minerState, h abi.ChainEpoch, nums []abi.SectorNumber) error {
	post, err := c.postProof(m.proof)
	if err != nil {
		return err
	}
	size, err := builtin.PoStProofWindowPoStPartitionSectors(post)
	if err != nil {
		return err
	}
	dls := m.deadlinesOrInit()
	d := dls[(c.deadlineAt(m.actor, h).Index+2)%miner.WPoStPeriodDeadlines]
	for _, n := range nums {
		if len(d.Partitions) == 0 || uint64(len(d.Partitions[len(d.Partitions)-1].Sectors)) >= size {
			d.Partitions = append(d.Partitions, &Partition{})
		}
		p := d.Partitions[len(d.Partitions)-1]
		p.Sectors = append(p.Sectors, n)
	}
	return nil
}

// closeDeadlinesLocked settles the deadline that closed at h for every miner: partitions not
// proven have their sectors faulted (and their recoveries dropped), proven ones have their
// recoveries healed.
func (c *Chain) closeDeadlinesLocked(h abi.ChainEpoch) {
	for _, actor := range sortedActors(c.st.miners) {
		m := c.st.miners[actor]
		prev := c.deadlineAt(actor, h-1)
		if c.deadlineAt(actor, h).Index == prev.Index || len(m.deadlines) == 0 {
			continue
		}
		d := m.deadlines[prev.Index]
		if len(d.Partitions) == 0 {
			continue
		}
		ev := PoStEvent{Miner: actor, Deadline: prev.Index, PeriodStart: prev.PeriodStart}
		for i, p := range d.Partitions {
			if d.ProvenPeriod == prev.PeriodStart && slices.Contains(d.Proven, uint64(i)) {
				ev.Proven = append(ev.Proven, uint64(i))
				p.Faulty = without(p.Faulty, p.Recovering)
			} else {
				ev.Missed = append(ev.Missed, uint64(i))
				p.Faulty = union(p.Faulty, p.Sectors)
			}
			p.Recovering = nil
			ev.Faulty += len(p.Faulty)
		}
		d.Proven = nil
		c.postEvents = append(c.postEvents, ev)
	}
}

func sortedActors(miners map[abi.ActorID]*minerState) []abi.ActorID {
	out := make([]abi.ActorID, 0, len(miners))
	for a := range miners {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// submitWindowedPoSt is the actor's SubmitWindowedPoSt: in the open deadline, for partitions
// of it, with one proof over their sectors that are not faulty (recovering ones included)
// once the skipped ones are faulted.
func (x *exec) submitWindowedPoSt(p *miner.SubmitWindowedPoStParams) *actorError {
	if err := x.checkCaller(); err != nil {
		return err
	}
	di := x.c.deadlineAt(x.m.actor, x.h)
	if p.Deadline != di.Index {
		return illegalArgument("invalid deadline %d at epoch %d, expected %d", p.Deadline, x.h, di.Index)
	}
	if p.ChainCommitEpoch < di.Challenge || p.ChainCommitEpoch >= x.h {
		return illegalArgument("expected chain commit epoch %d to be after %d and before %d", p.ChainCommitEpoch, di.Challenge, x.h)
	}
	if want := x.c.ticketRandomness(crypto.DomainSeparationTag_PoStChainCommit, p.ChainCommitEpoch, nil); !bytes.Equal(want, p.ChainCommitRand) {
		return illegalArgument("post commit randomness mismatched")
	}
	if len(p.Proofs) != 1 {
		return illegalArgument("expected exactly one proof, got %d", len(p.Proofs))
	}
	d := x.m.deadlinesOrInit()[di.Index]
	if d.ProvenPeriod != di.PeriodStart {
		d.Proven, d.ProvenPeriod = nil, di.PeriodStart
	}
	type change struct {
		p       *Partition
		index   uint64
		skipped []abi.SectorNumber
	}
	var changes []change
	var challenged []proof.SectorInfo
	for _, pp := range p.Partitions {
		if pp.Index >= uint64(len(d.Partitions)) {
			return illegalArgument("invalid partition %d of deadline %d", pp.Index, di.Index)
		}
		if slices.Contains(d.Proven, pp.Index) {
			continue // already proven in this window: the actor skips it
		}
		part := d.Partitions[pp.Index]
		skipped, err := sectorsOf(pp.Skipped)
		if err != nil {
			return fail(exitcode.ErrSerialization, "skipped sectors of partition %d: %v", pp.Index, err)
		}
		if extra := without(skipped, part.Sectors); len(extra) > 0 {
			return illegalArgument("skipped sectors %v are not in partition %d", extra, pp.Index)
		}
		changes = append(changes, change{part, pp.Index, skipped})
		healthyAfter := without(part.Sectors, without(union(part.Faulty, skipped), part.Recovering))
		for _, n := range without(healthyAfter, skipped) {
			s := x.m.sectors[n]
			if s == nil {
				continue
			}
			challenged = append(challenged, proof.SectorInfo{SealProof: s.SealProof, SectorNumber: n, SealedCID: s.SealedCID})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	if len(challenged) > 0 {
		rand := x.c.beaconRandomness(crypto.DomainSeparationTag_WindowedPoStChallengeSeed, di.Challenge, x.entropy())
		ok, err := x.c.opts.Verifier.VerifyWindowPoSt(proof.WindowPoStVerifyInfo{
			Randomness: abi.PoStRandomness(rand), Proofs: p.Proofs, ChallengedSectors: challenged, Prover: x.m.actor})
		if err != nil || !ok {
			return illegalArgument("invalid PoSt: %v", err)
		}
	}
	for _, ch := range changes {
		ch.p.Faulty = union(ch.p.Faulty, ch.skipped)
		ch.p.Recovering = without(ch.p.Recovering, ch.skipped)
		d.Proven = append(d.Proven, ch.index)
	}
	return nil
}

// declareFaults is the actor's DeclareFaults: before the target deadline's fault cutoff.
func (x *exec) declareFaults(p *miner.DeclareFaultsParams) *actorError {
	if err := x.checkCaller(); err != nil {
		return err
	}
	for _, f := range p.Faults {
		part, nums, aerr := x.declared(f.Deadline, f.Partition, f.Sectors)
		if aerr != nil {
			return aerr
		}
		part.Faulty = union(part.Faulty, nums)
		part.Recovering = without(part.Recovering, nums)
	}
	return nil
}

// declareFaultsRecovered is the actor's DeclareFaultsRecovered: faulty sectors become
// recovering, healed when their partition is next proven.
func (x *exec) declareFaultsRecovered(p *miner.DeclareFaultsRecoveredParams) *actorError {
	if err := x.checkCaller(); err != nil {
		return err
	}
	for _, r := range p.Recoveries {
		part, nums, aerr := x.declared(r.Deadline, r.Partition, r.Sectors)
		if aerr != nil {
			return aerr
		}
		part.Recovering = union(part.Recovering, intersect(nums, part.Faulty))
	}
	return nil
}

// declared checks a declaration for a deadline and returns its partition and sectors.
func (x *exec) declared(dl, pIdx uint64, sectors bitfield.BitField) (*Partition, []abi.SectorNumber, *actorError) {
	if dl >= miner.WPoStPeriodDeadlines {
		return nil, nil, illegalArgument("invalid deadline %d", dl)
	}
	if x.declarationTooLate(dl) {
		return nil, nil, illegalArgument("late fault or recovery declaration for deadline %d at epoch %d", dl, x.h)
	}
	d := x.m.deadlinesOrInit()[dl]
	if pIdx >= uint64(len(d.Partitions)) {
		return nil, nil, illegalArgument("invalid partition %d of deadline %d", pIdx, dl)
	}
	part := d.Partitions[pIdx]
	nums, err := sectorsOf(sectors)
	if err != nil {
		return nil, nil, fail(exitcode.ErrSerialization, "sectors: %v", err)
	}
	if extra := without(nums, part.Sectors); len(extra) > 0 {
		return nil, nil, illegalArgument("sectors %v are not in partition %d of deadline %d", extra, pIdx, dl)
	}
	return part, nums, nil
}

// declarationTooLate is the actor's validate_fr_declaration_deadline: the next occurrence of
// deadline dl must not have passed its fault cutoff.
func (x *exec) declarationTooLate(dl uint64) bool {
	cur := x.c.deadlineAt(x.m.actor, x.h)
	start := cur.PeriodStart
	if dl < cur.Index {
		start += miner.WPoStProvingPeriod
	}
	target := dline.NewInfo(start, dl, x.h, miner.WPoStPeriodDeadlines, miner.WPoStProvingPeriod,
		miner.WPoStChallengeWindow, miner.WPoStChallengeLookback, miner.FaultDeclarationCutoff)
	return target.FaultCutoffPassed()
}

func sectorsOf(bf bitfield.BitField) ([]abi.SectorNumber, error) {
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

// BitFieldOf is the bitfield of nums.
func BitFieldOf(nums []abi.SectorNumber) bitfield.BitField {
	u := make([]uint64, len(nums))
	for i, n := range nums {
		u[i] = uint64(n)
	}
	return bitfield.NewFromSet(u)
}

func union(a, b []abi.SectorNumber) []abi.SectorNumber {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func without(a, b []abi.SectorNumber) []abi.SectorNumber {
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

// PoStEvents are the deadline closes so far, in order.
func (c *Chain) PoStEvents() []PoStEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.postEvents)
}

// Faulty lists the miner's faulty sectors now.
func (c *Chain) Faulty(actor abi.ActorID) []abi.SectorNumber {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st.miners[actor]
	if m == nil {
		return nil
	}
	var out []abi.SectorNumber
	for _, d := range m.deadlines {
		for _, p := range d.Partitions {
			out = union(out, p.Faulty)
		}
	}
	return out
}

func checkDeadline(idx uint64) error {
	if idx >= miner.WPoStPeriodDeadlines {
		return fmt.Errorf("invalid deadline %d: want 0 to %d", idx, miner.WPoStPeriodDeadlines-1)
	}
	return nil
}

// StateMinerDeadlines is the miner's 48 deadlines, as Lotus serves them.
func (c *Chain) StateMinerDeadlines(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) ([]chain.Deadline, error) {
	if err := c.enter("StateMinerDeadlines"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.heightOfLocked(tsk)
	if err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	out := make([]chain.Deadline, miner.WPoStPeriodDeadlines)
	cur := c.deadlineAt(m.actor, h)
	for i, d := range m.deadlinesOrInit() {
		var proven []uint64
		if uint64(i) == cur.Index && d.ProvenPeriod == cur.PeriodStart {
			proven = d.Proven
		}
		out[i] = chain.Deadline{PostSubmissions: bitfield.NewFromSet(proven), DailyFee: big.Zero()}
	}
	return out, nil
}

// StateMinerPartitions is the partitions of a deadline, as Lotus serves them.
func (c *Chain) StateMinerPartitions(ctx context.Context, maddr address.Address, dlIdx uint64, tsk chain.TipSetKey) ([]chain.Partition, error) {
	if err := c.enter("StateMinerPartitions"); err != nil {
		return nil, err
	}
	if err := checkDeadline(dlIdx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	d := m.deadlinesOrInit()[dlIdx]
	out := make([]chain.Partition, len(d.Partitions))
	for i, p := range d.Partitions {
		active := without(p.Sectors, p.Faulty)
		out[i] = chain.Partition{AllSectors: BitFieldOf(p.Sectors), FaultySectors: BitFieldOf(p.Faulty),
			RecoveringSectors: BitFieldOf(p.Recovering), LiveSectors: BitFieldOf(p.Sectors), ActiveSectors: BitFieldOf(active)}
	}
	return out, nil
}

// StateMinerSectors is the miner's proven sectors in the bitfield (all of them for nil).
func (c *Chain) StateMinerSectors(ctx context.Context, maddr address.Address, sectors *bitfield.BitField, tsk chain.TipSetKey) ([]*chain.SectorOnChainInfo, error) {
	if err := c.enter("StateMinerSectors"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.heightOfLocked(tsk); err != nil {
		return nil, err
	}
	m, err := c.minerLocked(maddr)
	if err != nil {
		return nil, err
	}
	var want []abi.SectorNumber
	if sectors != nil {
		if want, err = sectorsOf(*sectors); err != nil {
			return nil, err
		}
	}
	out := []*chain.SectorOnChainInfo{}
	for _, n := range sortedSectors(m.sectors) {
		if sectors == nil || slices.Contains(want, n) {
			out = append(out, cloneSector(m.sectors[n]))
		}
	}
	return out, nil
}

func sortedSectors(sectors map[abi.SectorNumber]*chain.SectorOnChainInfo) []abi.SectorNumber {
	out := make([]abi.SectorNumber, 0, len(sectors))
	for n := range sectors {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ActivateSectors puts sectors of the miner on chain as if they had just been proven (with a
// made-up sealed CID) and assigns them to a deadline: the start of a test of what follows
// sealing, such as proving.
func (c *Chain) ActivateSectors(actor abi.ActorID, nums ...abi.SectorNumber) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st.miners[actor]
	if m == nil {
		return fmt.Errorf("no miner f0%d", actor)
	}
	h := c.st.head
	for _, n := range nums {
		if _, ok := m.sectors[n]; ok {
			return fmt.Errorf("sector %d of f0%d is already active", n, actor)
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("simchain sealed %d/%d", actor, n)))
		sum[31] &= 0x3f
		sealed, err := commcid.ReplicaCommitmentV1ToCID(sum[:])
		if err != nil {
			return err
		}
		m.allocated[n] = struct{}{}
		m.sectors[n] = &chain.SectorOnChainInfo{SectorNumber: n, SealProof: m.proof, SealedCID: sealed, Activation: h,
			Expiration: h + miner.MinSectorExpiration + miner.WPoStProvingPeriod, DealWeight: big.Zero(), VerifiedDealWeight: big.Zero(),
			InitialPledge: ExactInitialPledge(m.size), ExpectedDayReward: big.Zero(), ExpectedStoragePledge: big.Zero(),
			PowerBaseEpoch: h, ReplacedDayReward: big.Zero(), Flags: uint64(miner.SIMPLE_QA_POWER), DailyFee: big.Zero()}
	}
	if err := c.assignLocked(m, h, nums); err != nil {
		return err
	}
	return c.saveLocked()
}
