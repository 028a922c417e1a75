package poster_test

import (
	"context"
	"errors"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/poster"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving/provingtest"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const actor = abi.ActorID(10000)

type rig struct {
	t     *testing.T
	ch    *simchain.Chain
	node  *chain.Node
	db    statedb.DB
	store provingtest.Store
	mc    config.MinerConfig
}

// newRig is a simulated chain served over JSON-RPC (the manager's client talks to it as to
// Lotus), a 2KiB miner whose sectors sit in a store of files, and the scheduler's config.
func newRig(t *testing.T, sectors ...abi.SectorNumber) *rig {
	t.Helper()
	return newRigOn(t, simchain.Options{}, sectors...)
}

func newRigOn(t *testing.T, opts simchain.Options, sectors ...abi.SectorNumber) *rig {
	t.Helper()
	ch, node, stop := provingtest.ServeChain(t, opts, actor, 2<<10)
	t.Cleanup(stop)
	r := &rig{t: t, ch: ch, node: node, db: statedb.InMemory(), store: provingtest.Store{Root: t.TempDir(), Miner: actor, SectorSize: 2 << 10}}
	r.mc = config.DefaultMinerConfig()
	r.mc.Actor = actor
	r.mc.PoSt.Enabled = true
	r.mc.PoSt.Confidence = 1
	for _, n := range sectors {
		r.store.Write(t, n)
	}
	if err := ch.ActivateSectors(actor, sectors...); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) scheduler() *poster.Scheduler {
	return poster.New(poster.Deps{Chain: r.node, Sender: messager.NewMpool(r.node), DB: r.db, Stores: r.store,
		Prover: postprover.MockProver{}, Verifier: sealverify.Mock{}, Miners: func() []config.MinerConfig { return []config.MinerConfig{r.mc} }})
}

// run advances the chain epoch by epoch, stepping the scheduler at each, until the deadline
// the sectors are in (two after the one open at activation) and the next have closed.
func (r *rig) runDeadlines(s *poster.Scheduler, n int) {
	r.t.Helper()
	start := r.ch.PoStEvents()
	for epochs := 0; len(r.ch.PoStEvents()) < len(start)+n; epochs++ {
		if epochs > int(miner.WPoStProvingPeriod)+200 {
			r.t.Fatalf("no deadline closed after %d epochs", epochs)
		}
		if err := s.Step(context.Background(), r.mc); err != nil {
			r.t.Fatalf("step at %d: %v", r.ch.Head(), err)
		}
		if err := r.ch.Advance(1); err != nil {
			r.t.Fatal(err)
		}
	}
}

func submitted(ch *simchain.Chain, method abi.MethodNum) []simchain.PushedMessage {
	var out []simchain.PushedMessage
	for _, m := range ch.Messages() {
		if m.Message.Method == method {
			out = append(out, m)
		}
	}
	return out
}

// The deadline of three sectors (two partitions of a 2KiB miner) is proven in one message the
// simulated actor verifies, decoded with go-state-types, and nothing is faulted.
func TestDeadlineProven(t *testing.T) {
	r := newRig(t, 1, 2, 3)
	s := r.scheduler()
	r.runDeadlines(s, 1)
	ev := r.ch.PoStEvents()[0]
	if !slices.Equal(ev.Proven, []uint64{0, 1}) || len(ev.Missed) != 0 || ev.Faulty != 0 {
		t.Fatalf("deadline close = %+v, want both partitions proven", ev)
	}
	posts := submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)
	if len(posts) != 1 {
		t.Fatalf("%d SubmitWindowedPoSt messages, want 1", len(posts))
	}
	p, ok := posts[0].Params.(*miner.SubmitWindowedPoStParams)
	if !ok || p.Deadline != ev.Deadline || len(p.Partitions) != 2 || len(p.Proofs) != 1 {
		t.Fatalf("SubmitWindowedPoSt params = %+v", posts[0].Params)
	}
	if res, ok := s.Last(actor); !ok || res.Proven != 2 || res.Skipped != 0 || len(res.Messages) != 1 {
		t.Errorf("result = %+v", res)
	}
}

// A sealed file removed before the deadline after next is declared faulty before its cutoff,
// and skipped by the proof; put back, it is declared recovered and proven again.
func TestFaultThenRecovery(t *testing.T) {
	r := newRig(t, 1, 2)
	s := r.scheduler()
	r.store.RemoveSealed(t, 2)
	r.runDeadlines(s, 1)
	if f := r.ch.Faulty(actor); !slices.Equal(f, []abi.SectorNumber{2}) {
		t.Fatalf("faulty after the first deadline = %v, want [2]", f)
	}
	if n := len(submitted(r.ch, builtin.MethodsMiner.DeclareFaults)) + skippedIn(r.ch); n == 0 {
		t.Fatal("sector 2 was neither declared faulty nor skipped")
	}
	r.store.Write(t, 2)
	// A whole period later the same deadline comes again: the recovery is declared two
	// deadlines before it and proven with it.
	for len(submitted(r.ch, builtin.MethodsMiner.DeclareFaultsRecovered)) == 0 {
		r.runDeadlines(s, 1)
	}
	r.runDeadlines(s, 1)
	if f := r.ch.Faulty(actor); len(f) != 0 {
		t.Fatalf("faulty after the recovery = %v", f)
	}
}

func skippedIn(ch *simchain.Chain) int {
	n := 0
	for _, m := range submitted(ch, builtin.MethodsMiner.SubmitWindowedPoSt) {
		for _, p := range m.Params.(*miner.SubmitWindowedPoStParams).Partitions {
			c, _ := p.Skipped.Count()
			n += int(c)
		}
	}
	return n
}

// lossySender pushes, then loses the answer of the first SubmitWindowedPoSt push: the message
// is in the pool, but the scheduler cannot know it, as when the node's answer or the manager
// itself dies in between.
type lossySender struct {
	messager.Sender
	lost bool
}

func (l *lossySender) Push(ctx context.Context, id string, msg *chain.Message, spec messager.SendSpec) (cid.Cid, error) {
	c, err := l.Sender.Push(ctx, id, msg, spec)
	if err == nil && !l.lost && msg.Method == builtin.MethodsMiner.SubmitWindowedPoSt {
		l.lost = true
		return cid.Undef, errors.New("connection reset by peer")
	}
	return c, err
}

// A push whose answer was lost, then a manager restarted (a new scheduler on the same
// database): the journaled message is pushed again under its id, and the chain sees one
// SubmitWindowedPoSt for the deadline.
func TestNoDoubleSubmissionAfterALostPushAndARestart(t *testing.T) {
	r := newRig(t, 1, 2)
	lossy := &lossySender{Sender: messager.NewMpool(r.node)}
	first := poster.New(poster.Deps{Chain: r.node, Sender: lossy, DB: r.db, Stores: r.store, Prover: postprover.MockProver{},
		Verifier: sealverify.Mock{}, Miners: func() []config.MinerConfig { return []config.MinerConfig{r.mc} }})
	for !lossy.lost {
		_ = first.Step(context.Background(), r.mc)
		if err := r.ch.Advance(1); err != nil {
			t.Fatal(err)
		}
	}
	restarted := r.scheduler()
	r.runDeadlines(restarted, 1)
	if n := len(submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)); n != 1 {
		t.Fatalf("%d SubmitWindowedPoSt messages after the restart, want 1", n)
	}
	if ev := r.ch.PoStEvents()[0]; len(ev.Missed) != 0 {
		t.Fatalf("deadline close = %+v", ev)
	}
}

// The node down when the deadline opens: every step fails, and once it is back, while the
// window is still open, the deadline is proven.
func TestNodeDownDuringTheDeadline(t *testing.T) {
	r := newRig(t, 1)
	s := r.scheduler()
	target := r.ch.PoStEvents()
	down := 0
	for len(r.ch.PoStEvents()) == len(target) {
		di, err := r.node.StateMinerProvingDeadline(context.Background(), mustID(actor), chain.TipSetKey{})
		if err != nil {
			t.Fatal(err)
		}
		// Down for the first 20 epochs of the sectors' deadline (its challenge is 20 before open).
		inWindow := r.ch.Head() >= di.Challenge && r.ch.Head() < di.Open+20 && len(submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)) == 0 && di.Index == sectorsDeadline(t, r)
		if inWindow {
			r.ch.SetDown(errors.New("node restarting"))
			if err := s.Step(context.Background(), r.mc); err == nil {
				t.Fatal("a step succeeded with the node down")
			}
			down++
			r.ch.SetDown(nil)
		} else if err := s.Step(context.Background(), r.mc); err != nil {
			t.Fatalf("step: %v", err)
		}
		if err := r.ch.Advance(1); err != nil {
			t.Fatal(err)
		}
	}
	if ev := r.ch.PoStEvents()[0]; down == 0 || !slices.Equal(ev.Proven, []uint64{0}) {
		t.Fatalf("down for %d steps; deadline close = %+v", down, ev)
	}
}

func sectorsDeadline(t *testing.T, r *rig) uint64 {
	t.Helper()
	for dl := uint64(0); dl < miner.WPoStPeriodDeadlines; dl++ {
		parts, err := r.ch.StateMinerPartitions(context.Background(), mustID(actor), dl, chain.TipSetKey{})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) > 0 {
			return dl
		}
	}
	t.Fatal("no deadline has partitions")
	return 0
}

func mustID(a abi.ActorID) address.Address {
	addr, err := address.NewIDAddress(uint64(a))
	if err != nil {
		panic(err)
	}
	return addr
}

// stepUntilProofPushed steps the scheduler epoch by epoch until its first SubmitWindowedPoSt is
// in the pool, and answers its params.
func (r *rig) stepUntilProofPushed(s *poster.Scheduler) *miner.SubmitWindowedPoStParams {
	r.t.Helper()
	for epochs := 0; len(submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)) == 0; epochs++ {
		if epochs > int(miner.WPoStProvingPeriod)+200 {
			r.t.Fatalf("no proof pushed after %d epochs", epochs)
		}
		if err := r.ch.Advance(1); err != nil {
			r.t.Fatal(err)
		}
		if err := s.Step(context.Background(), r.mc); err != nil {
			r.t.Fatalf("step at %d: %v", r.ch.Head(), err)
		}
	}
	return submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)[0].Params.(*miner.SubmitWindowedPoStParams)
}

// reorgRig is a deadline of two partitions whose first proof is in the pool, on a chain that
// can replace its last 40 tipsets, and a scheduler that waits 5 epochs for its proofs.
func reorgRig(t *testing.T) (*rig, *poster.Scheduler, *miner.SubmitWindowedPoStParams) {
	t.Helper()
	r := newRigOn(t, simchain.Options{ReorgDepth: 40}, 1, 2, 3)
	r.mc.PoSt.Confidence = 5
	s := r.scheduler()
	return r, s, r.stepUntilProofPushed(s)
}

// reorgAbove replaces the tipsets above forkPoint.
func (r *rig) reorgAbove(forkPoint abi.ChainEpoch) {
	r.t.Helper()
	if err := r.ch.Reorg(int(r.ch.Head() - forkPoint)); err != nil {
		r.t.Fatal(err)
	}
}

// A reorg that replaces the tipset of the proof's chain commit epoch, after the proof landed
// but before PoSt.Confidence: the proof fails when the fork runs it again, so the scheduler
// proves the deadline again with the fork's randomness, and the deadline closes proven.
func TestReorgBelowTheCommitEpochResendsTheProof(t *testing.T) {
	r, s, first := reorgRig(t)
	if err := r.ch.Advance(2); err != nil { // included, 1 epoch deep
		t.Fatal(err)
	}
	r.reorgAbove(first.ChainCommitEpoch - 1)
	r.runDeadlines(s, 1)

	posts := submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)
	if len(posts) != 2 {
		t.Fatalf("%d SubmitWindowedPoSt messages, want the first and one resent", len(posts))
	}
	// The fork runs it again before its deadline opens, or with the old fork's randomness.
	if posts[0].ExitCode != exitcode.ErrIllegalArgument {
		t.Errorf("the stale proof ran with exit %d (%s), want 16", posts[0].ExitCode, posts[0].Error)
	}
	if posts[1].ExitCode != exitcode.Ok {
		t.Errorf("the resent proof ran with exit %d: %s", posts[1].ExitCode, posts[1].Error)
	}
	ev := r.ch.PoStEvents()[0]
	if !slices.Equal(ev.Proven, []uint64{0, 1}) || len(ev.Missed) != 0 {
		t.Fatalf("deadline close = %+v, want both partitions proven", ev)
	}
	if res, _ := s.Last(actor); res.Resent != 1 || res.Proven != 2 || len(res.Messages) != 1 || res.Messages[0] != posts[1].Cid.String() {
		t.Fatalf("result = %+v", res)
	}
}

// The stale proof still in the pool after the reorg (the fork has not run it yet): the scheduler
// sees that the chain's randomness at its commit epoch changed and sends a new proof at once,
// without waiting for the old one to fail.
func TestReorgDetectedWhileTheStaleProofIsPending(t *testing.T) {
	r, s, first := reorgRig(t)
	stale := submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)[0].Cid
	if err := r.ch.Advance(1); err != nil {
		t.Fatal(err)
	}
	var hold atomic.Bool
	hold.Store(true)
	r.ch.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		if m.Cid.Equals(stale) && hold.Load() {
			return simchain.OutcomeHold
		}
		return simchain.OutcomeExecute
	})
	r.reorgAbove(first.ChainCommitEpoch - 1)
	if err := s.Step(context.Background(), r.mc); err != nil {
		t.Fatal(err)
	}
	posts := submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)
	if len(posts) != 2 || posts[0].Included != 0 {
		t.Fatalf("after the reorg: %d proofs, the stale one included at %d; want a second proof while it is pending", len(posts), posts[0].Included)
	}
	second := posts[1].Params.(*miner.SubmitWindowedPoStParams)
	if slices.Equal(second.ChainCommitRand, first.ChainCommitRand) {
		t.Fatal("the new proof has the old fork's commit randomness")
	}
	hold.Store(false)
	r.runDeadlines(s, 1)
	if ev := r.ch.PoStEvents()[0]; !slices.Equal(ev.Proven, []uint64{0, 1}) {
		t.Fatalf("deadline close = %+v", ev)
	}
	if n := len(submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)); n != 2 {
		t.Fatalf("%d proofs in all, want 2", n)
	}
}

// A reorg above the commit epoch leaves the proof valid: the fork includes it again and
// nothing is sent twice.
func TestReorgAboveTheCommitEpochSendsNothingNew(t *testing.T) {
	r, s, first := reorgRig(t)
	if err := r.ch.Advance(2); err != nil {
		t.Fatal(err)
	}
	r.reorgAbove(first.ChainCommitEpoch) // the commit tipset stays
	r.runDeadlines(s, 1)
	posts := submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt)
	if len(posts) != 1 || posts[0].ExitCode != exitcode.Ok {
		t.Fatalf("SubmitWindowedPoSt messages = %+v, want the one, run again by the fork", posts)
	}
	if res, _ := s.Last(actor); res.Resent != 0 || res.Proven != 2 {
		t.Fatalf("result = %+v", res)
	}
}

// A deadline proven in two messages, one of which fails: only its partitions are proven again
// (before, a failed message among several was dropped and its partitions never resent).
func TestOneFailedMessageOfTwoIsResentAlone(t *testing.T) {
	r := newRig(t, 1, 2, 3)
	r.mc.PoSt.MaxPartitionsPerPoStMessage = 1
	failedOnce := false
	r.ch.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		if p, ok := m.Params.(*miner.SubmitWindowedPoStParams); ok && !failedOnce && p.Partitions[0].Index == 1 {
			failedOnce = true
			return simchain.OutcomeOutOfGas
		}
		return simchain.OutcomeExecute
	})
	s := r.scheduler()
	r.runDeadlines(s, 1)
	var parts []uint64
	for _, m := range submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt) {
		for _, p := range m.Params.(*miner.SubmitWindowedPoStParams).Partitions {
			parts = append(parts, p.Index)
		}
	}
	if !slices.Equal(parts, []uint64{0, 1, 1}) {
		t.Fatalf("partitions sent = %v, want 0 and 1, then 1 again", parts)
	}
	if ev := r.ch.PoStEvents()[0]; !slices.Equal(ev.Proven, []uint64{0, 1}) {
		t.Fatalf("deadline close = %+v", ev)
	}
	if res, _ := s.Last(actor); res.Resent != 1 || res.Proven != 2 || len(res.Messages) != 2 {
		t.Fatalf("result = %+v", res)
	}
}

// Recoveries of two partitions with MaxPartitionsPerRecoveryMessage = 1 go in two messages of
// one partition each, and both partitions heal.
func TestRecoveriesSplitByMaxPartitionsPerRecoveryMessage(t *testing.T) {
	r := newRig(t, 1, 2, 3, 4) // partitions {1,2} and {3,4}
	r.mc.PoSt.MaxPartitionsPerRecoveryMessage = 1
	s := r.scheduler()
	r.store.RemoveSealed(t, 1)
	r.store.RemoveSealed(t, 3)
	r.runDeadlines(s, 1)
	if f := r.ch.Faulty(actor); !slices.Equal(f, []abi.SectorNumber{1, 3}) {
		t.Fatalf("faulty = %v, want [1 3]", f)
	}
	r.store.Write(t, 1)
	r.store.Write(t, 3)
	for len(submitted(r.ch, builtin.MethodsMiner.DeclareFaultsRecovered)) == 0 {
		r.runDeadlines(s, 1)
	}
	r.runDeadlines(s, 1)
	var parts []uint64
	for _, m := range submitted(r.ch, builtin.MethodsMiner.DeclareFaultsRecovered) {
		p := m.Params.(*miner.DeclareFaultsRecoveredParams)
		if len(p.Recoveries) != 1 {
			t.Fatalf("a recovery message with %d partitions, want 1", len(p.Recoveries))
		}
		parts = append(parts, p.Recoveries[0].Partition)
	}
	if !slices.Equal(parts, []uint64{0, 1}) {
		t.Fatalf("recovered partitions by message = %v, want [0 1]", parts)
	}
	if f := r.ch.Faulty(actor); len(f) != 0 {
		t.Fatalf("faulty after the recoveries = %v", f)
	}
}

// meetingProver proves only once `want` calls are in it at the same time, or gives up after a
// while: with PoSt.Parallel the batches of a deadline meet, one after the other they cannot.
type meetingProver struct {
	postprover.MockProver
	want    int
	mu      sync.Mutex
	inside  int
	arrived chan struct{}
}

func (p *meetingProver) GenerateWindowPoSt(mid abi.ActorID, pp abi.RegisteredPoStProof, sectors []postprover.SectorToProve, rand abi.PoStRandomness) ([]proof.PoStProof, error) {
	p.mu.Lock()
	p.inside++
	if p.inside == p.want {
		close(p.arrived)
	}
	p.mu.Unlock()
	select {
	case <-p.arrived:
		return p.MockProver.GenerateWindowPoSt(mid, pp, sectors, rand)
	case <-time.After(2 * time.Second):
		return nil, errors.New("the other batches never came: proven one after the other")
	}
}

// With PoSt.Parallel the three batches of a deadline (one partition per message) are proven at
// the same time, and sent in partition order.
func TestParallelProvesTheBatchesAtOnce(t *testing.T) {
	r := newRig(t, 1, 2, 3, 4, 5, 6) // three partitions
	r.mc.PoSt.MaxPartitionsPerPoStMessage = 1
	r.mc.PoSt.Parallel = true
	prover := &meetingProver{want: 3, arrived: make(chan struct{})}
	s := poster.New(poster.Deps{Chain: r.node, Sender: messager.NewMpool(r.node), DB: r.db, Stores: r.store,
		Prover: prover, Verifier: sealverify.Mock{}, Miners: func() []config.MinerConfig { return []config.MinerConfig{r.mc} }})
	r.runDeadlines(s, 1)
	var parts []uint64
	for _, m := range submitted(r.ch, builtin.MethodsMiner.SubmitWindowedPoSt) {
		parts = append(parts, m.Params.(*miner.SubmitWindowedPoStParams).Partitions[0].Index)
	}
	if !slices.Equal(parts, []uint64{0, 1, 2}) {
		t.Fatalf("partitions by message = %v, want [0 1 2]", parts)
	}
	if ev := r.ch.PoStEvents()[0]; !slices.Equal(ev.Proven, []uint64{0, 1, 2}) {
		t.Fatalf("deadline close = %+v", ev)
	}
}
