package commitment

import (
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/builtin/v16/miner"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

func (e *env) waiting(kind Kind) int {
	e.t.Helper()
	e.m.mu.Lock()
	b := e.m.batchers[batcherKey{testActor, kind}]
	e.m.mu.Unlock()
	if b == nil {
		return 0
	}
	n, err := b.waiting(bg)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) ticks(kind Kind) int64 {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	return e.m.batchers[batcherKey{testActor, kind}].ticks.Load()
}

func TestBatchIsSentWhenTheThresholdIsReached(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.batch(KindPreCommit, 3)
	a, b, c := e.newSector(), e.newSector(), e.newSector()
	e.submitPre(a, false)
	e.submitPre(b, false)
	if n := e.waiting(KindPreCommit); n != 2 {
		t.Fatalf("%d sectors waiting, want 2", n)
	}
	if n := len(e.sim.Messages()); n != 0 {
		t.Fatalf("%d messages sent below the threshold", n)
	}
	if got := e.pollPre(a); got.State != api.OnChainPending {
		t.Fatalf("queued sector polls %s, want Pending", got.State)
	}
	e.submitPre(c, false)
	e.waitFor("the full batch to be sent", func() bool { return len(e.sim.Messages()) == 1 })
	e.flush(KindPreCommit)
	params := e.sim.Messages()[0].Params.(*miner.PreCommitSectorBatchParams2)
	if len(params.Sectors) != 3 {
		t.Fatalf("batch of %d sectors, want 3", len(params.Sectors))
	}
	if n := e.waiting(KindPreCommit); n != 0 {
		t.Fatalf("%d sectors still waiting", n)
	}
}

func TestBatchTickSendsOnlySectorsThatWaitedLongerThanMaxWait(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.batch(KindPreCommit, 16)
	e.configure(func(c *config.MinerConfig) {
		// 8 hours of 30 s epochs: 960 epochs from the ticket, which is 900 epochs old.
		c.Commitment.Pre.Batch.MaxWait = config.Duration(8 * time.Hour)
		c.Commitment.Pre.Batch.CheckInterval = config.Duration(2 * time.Millisecond)
	})
	old := e.newSector()
	e.submitPre(old, false)
	start := e.ticks(KindPreCommit)
	e.waitFor("two ticks", func() bool { return e.ticks(KindPreCommit) >= start+2 })
	if n := len(e.sim.Messages()); n != 0 {
		t.Fatalf("%d messages before MaxWait", n)
	}
	e.advance(60)
	young := e.newSector() // ticket 900 epochs old: within MaxWait
	e.submitPre(young, false)
	e.advance(1) // the first sector has now waited 961 epochs
	e.waitFor("the expired sector to be sent", func() bool { return len(e.sim.Messages()) == 1 })
	params := e.sim.Messages()[0].Params.(*miner.PreCommitSectorBatchParams2)
	if len(params.Sectors) != 1 || params.Sectors[0].SectorNumber != old.sid.Number {
		t.Fatalf("sent %+v, want only sector %d", params.Sectors, old.sid.Number)
	}
	if n := e.waiting(KindPreCommit); n != 1 {
		t.Fatalf("%d sectors waiting, want the young one", n)
	}
}

func TestDisabledBatchingSendsEachSectorAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newSector(), e.newSector()
	e.submitPre(a, false)
	e.flush(KindPreCommit)
	e.submitPre(b, false)
	e.flush(KindPreCommit)
	msgs := e.sim.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per sector", len(msgs))
	}
	for i, s := range []*sector{a, b} {
		params := msgs[i].Params.(*miner.PreCommitSectorBatchParams2)
		if len(params.Sectors) != 1 || params.Sectors[0].SectorNumber != s.sid.Number {
			t.Fatalf("message %d: %+v", i, params.Sectors)
		}
	}
}

func TestBatchWithoutSendFundHoldsEverySector(t *testing.T) {
	// Bug 5 of the original: with SendFund=false the batch was empty.
	e := newEnv(t, envOptions{balance: bigFIL(1)})
	e.batch(KindPreCommit, 2)
	e.configure(func(c *config.MinerConfig) { c.Commitment.Pre.SendFund = false })
	a, b := e.newSector(), e.newSector()
	e.submitPre(a, false)
	e.submitPre(b, false)
	e.flush(KindPreCommit)
	msgs := e.sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	params := msgs[0].Params.(*miner.PreCommitSectorBatchParams2)
	if len(params.Sectors) != 2 || !msgs[0].Message.Value.IsZero() {
		t.Fatalf("%d sectors, value %s; want 2 sectors and no value", len(params.Sectors), msgs[0].Message.Value)
	}
	e.land()
	for _, s := range []*sector{a, b} {
		if got := e.pollPre(s); got.State != api.OnChainLanded {
			t.Fatalf("%s: %s %s", api.FormatSectorID(s.sid), got.State, desc(got.Desc))
		}
	}
}
