package commitment

import (
	"strings"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/builtin"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/randomness"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// restart stops the manager and builds a new one over the same database, as a daemon started
// again would (with crashAt, the old one stopped where a killed one would have). With home, the
// database is closed and opened again from that directory.
func (e *env) restart(home string) {
	e.t.Helper()
	e.m.Stop()
	if home != "" {
		if err := e.db.Close(); err != nil {
			e.t.Fatal(err)
		}
		db, err := statedb.OpenHome(home)
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { db.Close() })
		e.db = db
		e.store = sectors.New(db)
		e.rand = randomness.New(e.node, e.store)
	}
	e.m = e.newManager()
}

func (e *env) journal() []*journalEntry {
	e.t.Helper()
	entries, err := e.m.loadJournal()
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

func TestCrashAfterTheJournalBeforeThePushSendsOnceAfterRestart(t *testing.T) {
	home := t.TempDir()
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{db: db})
	e.m.crashAt = func(point string) bool { return point == "journaled" }
	s := e.newSector()
	e.submitPre(s, false)
	e.flush(KindPreCommit)
	if n := len(e.sim.Messages()); n != 0 {
		t.Fatalf("%d messages pushed before the crash point", n)
	}
	if j := e.journal(); len(j) != 1 || j[0].Kind != KindPreCommit || len(j[0].Sectors) != 1 || j[0].Sectors[0] != s.sid.Number ||
		j[0].Message.Method != builtin.MethodsMiner.PreCommitSectorBatch2 {
		t.Fatalf("journal %+v", j)
	}
	if got := e.pollPre(s); got.State != api.OnChainPending {
		t.Fatalf("poll before the restart: %s", got.State)
	}

	e.restart(home)
	msgs := e.sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the restart, want 1", len(msgs))
	}
	st := e.state(s)
	if st.MessageInfo.NeedSend || st.MessageInfo.PreCommitCid == nil || !st.MessageInfo.PreCommitCid.Equals(msgs[0].Cid) {
		t.Fatalf("message info %+v, want %s", st.MessageInfo, msgs[0].Cid)
	}
	if j := e.journal(); len(j) != 0 {
		t.Fatalf("journal kept %d entries", len(j))
	}
	e.flush(KindPreCommit)
	if n := len(e.sim.Messages()); n != 1 {
		t.Fatalf("%d messages: the sector was queued again", n)
	}
	e.land()
	if got := e.pollPre(s); got.State != api.OnChainLanded {
		t.Fatalf("poll: %s", got.State)
	}
}

func TestCrashAfterThePushBeforeTheRecordKeepsOneMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, seeds := e.preCommitLanded(1)
	s := secs[0]
	e.m.crashAt = func(point string) bool { return point == "pushed" }
	if resp := e.submitProof(s, e.proof(s, seeds[0]), false); resp.Res != api.SubmitAccepted {
		t.Fatalf("proof: %+v", resp)
	}
	e.flush(KindProve)
	msgs := e.sim.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the pre-commit and the proof", len(msgs))
	}
	if st := e.state(s); !st.MessageInfo.NeedSend || st.MessageInfo.CommitCid != nil {
		t.Fatalf("recorded before the crash point: %+v", st.MessageInfo)
	}
	if got := e.pollProof(s); got.State != api.OnChainPending {
		t.Fatalf("poll before the restart: %s", got.State)
	}

	e.restart("")
	msgs = e.sim.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages after the restart, want still 2", len(msgs))
	}
	st := e.state(s)
	if st.MessageInfo.NeedSend || st.MessageInfo.CommitCid == nil || !st.MessageInfo.CommitCid.Equals(msgs[1].Cid) {
		t.Fatalf("message info %+v, want the proof's CID %s", st.MessageInfo, msgs[1].Cid)
	}
	if j := e.journal(); len(j) != 0 {
		t.Fatalf("journal kept %d entries", len(j))
	}
	e.land()
	if got := e.pollProof(s); got.State != api.OnChainLanded {
		t.Fatalf("poll: %s %s", got.State, desc(got.Desc))
	}
}

func TestRestartQueuesSectorsThatStillNeedTheirMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	secs, seeds := e.preCommitLanded(1)
	proving := secs[0]
	e.batch(KindPreCommit, 16)
	e.batch(KindProve, 16)
	waiting := e.newSector()
	e.submitPre(waiting, false)
	e.submitProof(proving, e.proof(proving, seeds[0]), false)
	if e.waiting(KindPreCommit) != 1 || e.waiting(KindProve) != 1 {
		t.Fatal("the sectors are not waiting in their batchers")
	}

	e.restart("")
	if e.waiting(KindPreCommit) != 1 || e.waiting(KindProve) != 1 {
		t.Fatalf("after the restart: %d pre-commits and %d proofs waiting, want 1 and 1", e.waiting(KindPreCommit), e.waiting(KindProve))
	}
	e.flush(KindPreCommit)
	e.flush(KindProve)
	msgs := e.sim.Messages()
	if len(msgs) != 3 || msgs[1].Message.Method != builtin.MethodsMiner.PreCommitSectorBatch2 || msgs[2].Message.Method != builtin.MethodsMiner.ProveCommitSectors3 {
		t.Fatalf("%d messages, want the first pre-commit, then one pre-commit and one proof", len(msgs))
	}
	e.land()
	if got := e.pollPre(waiting); got.State != api.OnChainLanded {
		t.Fatalf("re-queued pre-commit: %s", got.State)
	}
	if got := e.pollProof(proving); got.State != api.OnChainLanded {
		t.Fatalf("re-queued proof: %s %s", got.State, desc(got.Desc))
	}
}

func TestPushWhoseAnswerIsLostIsPushedAgainWithTheSameID(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.proxy.drop.Store("Filecoin.MpoolPushMessage")
	s := e.newSector()
	e.submitPre(s, false)
	err := e.m.Flush(bg, testActor, KindPreCommit)
	if err == nil || !strings.HasPrefix(err.Error(), "full node "+e.url+": Filecoin.MpoolPushMessage: ") {
		t.Fatalf("flush: %v, want the lost answer", err)
	}
	e.waitFor("the retried push to be recorded", func() bool { return e.state(s).MessageInfo.PreCommitCid != nil })
	msgs := e.sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the one that reached the node", len(msgs))
	}
	if c := e.state(s).MessageInfo.PreCommitCid; !c.Equals(msgs[0].Cid) {
		t.Fatalf("recorded %s, want %s", c, msgs[0].Cid)
	}
	e.land()
	if got := e.pollPre(s); got.State != api.OnChainLanded {
		t.Fatalf("poll: %s", got.State)
	}
}

func TestPushTheNodeRefusesFailsThePoll(t *testing.T) {
	e := newEnv(t, envOptions{})
	stranger, _ := address.NewIDAddress(4242)
	e.configure(func(c *config.MinerConfig) { c.Commitment.Pre.Sender = config.MustAddress(stranger) })
	s := e.newSector()
	e.submitPre(s, false)
	err := e.m.Flush(bg, testActor, KindPreCommit)
	if err == nil || !strings.HasPrefix(err.Error(), "full node "+e.url+": Filecoin.MpoolPushMessage: getting key address: failed to find actor: f04242") {
		t.Fatalf("flush: %v", err)
	}
	got := e.pollPre(s)
	if got.State != api.OnChainFailed || desc(got.Desc) != "attempt to publish message but failed" {
		t.Fatalf("poll: %s %q", got.State, desc(got.Desc))
	}
	if j := e.journal(); len(j) != 0 {
		t.Fatalf("journal kept %d entries of a refused push", len(j))
	}
}

func TestResetWhileAMessageIsBeingSentSendsNothingMore(t *testing.T) {
	e := newEnv(t, envOptions{})
	// The manager stops between journal and push, so the sector's message stays in flight.
	e.m.crashAt = func(point string) bool { return point == "journaled" }
	s := e.newSector()
	e.submitPre(s, false)
	e.flush(KindPreCommit)
	if resp := e.submitPre(s, true); resp.Res != api.SubmitAccepted {
		t.Fatalf("reset with the same pre-commit: %+v", resp)
	}
	changed := *s
	changed.commR[0] ^= 1
	if resp := e.submitPre(&changed, true); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("reset with another pre-commit: %+v", resp)
	}
	e.flush(KindPreCommit)
	if j := e.journal(); len(j) != 1 {
		t.Fatalf("%d journal entries, want the one in flight", len(j))
	}
	if n := len(e.sim.Messages()); n != 0 {
		t.Fatalf("%d messages", n)
	}
}
