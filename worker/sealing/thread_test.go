package sealing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

func testLogger(t *testing.T) *zap.SugaredLogger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Sugar()
}

func sector(n uint64) abi.SectorID {
	return abi.SectorID{Miner: testMiner, Number: abi.SectorNumber(n)}
}

func strp(s string) *string { return &s }

func TestSealsCCSectorsToFinished(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	r.start()
	r.waitFor("two sectors finalized", func() bool { return fm.finalizedCount() == 2 })
	r.waitFor("thread idle", func() bool { return r.info().SectorID == nil })

	for _, n := range []uint64{1, 2} {
		name := api.FormatSectorID(sector(n))
		for _, rel := range []string{"sealed/" + name, "cache/" + name + "/sc-02-data-tree-r-last.dat", "cache/" + name + "/p_aux", "cache/" + name + "/t_aux"} {
			if _, err := os.Stat(filepath.Join(r.persist.Root, rel)); err != nil {
				t.Errorf("persisted file %s: %v", rel, err)
			}
		}
	}
	// Every transition of the sealer plan is reported once, in order, with its real event.
	var got []string
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.Failure != nil {
			t.Errorf("unexpected failure report: %+v", rep.Failure)
		}
		got = append(got, rep.StateChange.Prev+">"+rep.StateChange.Next+"@"+rep.StateChange.Event)
	}
	want := []string{
		"Empty>Allocated@Allocate", "Allocated>DealsAcquired@AcquireDeals", "DealsAcquired>PieceAdded@AddPiece",
		"PieceAdded>TreeDBuilt@BuildTreeD", "TreeDBuilt>TicketAssigned@AssignTicket", "TicketAssigned>PC1Done@PC1",
		"PC1Done>PC2Done@PC2", "PC2Done>PCSubmitted@SubmitPC", "PCSubmitted>PCLanded@CheckPC", "PCLanded>Persisted@Persist",
		"Persisted>PersistanceSubmitted@SubmitPersistance", "PersistanceSubmitted>SeedAssigned@AssignSeed",
		"SeedAssigned>C1Done@C1", "C1Done>C2Done@C2", "C2Done>ProofSubmitted@SubmitProof", "ProofSubmitted>Finished@Finish",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reports:\n got %v\nwant %v", got, want)
	}
	if rep := fm.reportsOf(sector(1))[0]; rep.Worker.Instance != "test-worker" || rep.Worker.Location != r.loc.Root {
		t.Errorf("report worker = %+v", rep.Worker)
	}
	if _, ok, _ := loadRecord(r.loc.DB); ok {
		t.Error("job record still present after the sector finished")
	}
	if entries, _ := os.ReadDir(r.loc.DataDir()); len(entries) != 0 {
		t.Errorf("data dir not wiped: %d entries", len(entries))
	}
}

func TestTemporaryFailuresPauseAfterMaxRetriesThenResume(t *testing.T) {
	fm := newFakeManager(1)
	var mu sync.Mutex
	broken := true
	fm.waitSeed = func() (api.WaitSeedResp, error) {
		mu.Lock()
		defer mu.Unlock()
		if broken {
			return api.WaitSeedResp{}, errors.New("connection refused")
		}
		return api.WaitSeedResp{Seed: &seed}, nil
	}
	r := newRig(t, fm)
	r.start()
	info := r.waitPaused()
	if info.State != "PersistanceSubmitted" || info.LastError == nil {
		t.Fatalf("paused thread = %+v", info)
	}
	wantErr := "permanent: gave up after 3 temporary failures: rpc WaitSeed: connection refused"
	if *info.LastError != wantErr {
		t.Errorf("last_error = %q, want %q", *info.LastError, wantErr)
	}
	if n := fm.callCount("WaitSeed"); n != 4 {
		t.Errorf("WaitSeed called %d times, want 4 (1 + max_retries)", n)
	}
	var levels []string
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.Failure != nil {
			levels = append(levels, rep.Failure.Level)
		}
	}
	// Each failed attempt is reported, then the escalation that pauses the thread.
	if got := strings.Join(levels, ","); got != "Temporary,Temporary,Temporary,Temporary,Permanent" {
		t.Errorf("failure reports = %s", got)
	}

	mu.Lock()
	broken = false
	mu.Unlock()
	r.resume(nil)
	r.waitFor("sector finalized after resume", func() bool { return fm.finalizedCount() == 1 })
	if info := r.info(); info.LastError != nil {
		t.Errorf("last_error not cleared by resume: %q", *info.LastError)
	}
}

func TestSectorStateNotFoundAbortsAndMovesOn(t *testing.T) {
	fm := newFakeManager(2)
	var once sync.Once
	fm.submitPersisted = func() (bool, error) {
		var err error
		once.Do(func() { err = api.ErrSectorStateNotFound() })
		return err == nil, err
	}
	r := newRig(t, fm)
	r.start()
	r.waitFor("second sector finalized", func() bool { return fm.finalizedCount() == 1 })
	reason, ok := fm.abortReason(sector(1))
	if !ok || !strings.Contains(reason, "sector state not found") {
		t.Fatalf("sector 1 abort reason = %q (reported %v)", reason, ok)
	}
	if _, ok := fm.abortReason(sector(2)); ok {
		t.Error("sector 2 aborted too")
	}
}

// blockPreCommitPoll makes PollPreCommitState wait until released, so a test can act mid-step.
func blockPreCommitPoll(fm *fakeManager) (entered <-chan struct{}, release func()) {
	in := make(chan struct{}, 1)
	gate := make(chan struct{})
	var once sync.Once
	fm.pollPreCommit = func() (api.PollPreCommitStateResp, error) {
		select {
		case in <- struct{}{}:
		default:
		}
		<-gate
		return api.PollPreCommitStateResp{State: api.OnChainLanded}, nil
	}
	return in, func() { once.Do(func() { close(gate) }) }
}

// pauseAtPCLanded pauses the thread while its pre-commit poll runs: the poll's result must be
// persisted (PCLanded) before the pause takes effect.
func pauseAtPCLanded(t *testing.T, r *testRig, fm *fakeManager) {
	t.Helper()
	entered, release := blockPreCommitPoll(fm)
	t.Cleanup(release)
	r.start()
	<-entered
	if !r.thread.Ctrl.RequestPause() {
		t.Fatal("first pause returned false")
	}
	if r.thread.Ctrl.RequestPause() {
		t.Error("second pause while one is pending returned true")
	}
	release()
	info := r.waitPaused()
	if info.State != "PCLanded" || info.LastError != nil || info.SectorID == nil || *info.SectorID != sector(1) {
		t.Fatalf("paused thread = %+v, want PCLanded, no error, sector 1", info)
	}
	rec, ok, err := loadRecord(r.loc.DB)
	if err != nil || !ok || rec.State != PCLanded {
		t.Fatalf("persisted record: %+v ok=%v err=%v, want state PCLanded", rec, ok, err)
	}
}

func TestPauseKeepsTheFinishedStep(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	if n := fm.callCount("PollPreCommitState"); n != 1 {
		t.Errorf("poll ran %d times, want 1: the finished step must not be re-run", n)
	}
	r.resume(nil)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if n := fm.callCount("PollPreCommitState"); n != 1 {
		t.Errorf("poll ran %d times after resume, want 1", n)
	}
}

func TestResumeInAnEarlierStateRerunsFromThere(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	to := PC2Done
	r.resume(&to)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if n := fm.callCount("SubmitPreCommit"); n != 2 {
		t.Errorf("SubmitPreCommit called %d times, want 2", n)
	}
	var sawSetState bool
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.StateChange == (api.SectorStateChange{Prev: "PCLanded", Next: "PC2Done", Event: "SetState"}) {
			sawSetState = true
		}
	}
	if !sawSetState {
		t.Error("no PCLanded>PC2Done@SetState report")
	}
}

func TestResumeInTheSameStatePausesAgain(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	to := PCLanded
	r.resume(&to)
	r.waitFor("critical pause", func() bool {
		i := r.info()
		return i.Paused && i.LastError != nil
	})
	if got := *r.info().LastError; got != "critical: state unchanged, may enter an infinite loop" {
		t.Errorf("last_error = %q", got)
	}
}

func TestResumeAbortedDropsTheSectorAndTakesANewOne(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	fm.pollPreCommit = nil
	to := Aborted
	r.resume(&to)
	r.waitFor("next sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if reason, ok := fm.abortReason(sector(1)); !ok || reason != "task aborted" {
		t.Errorf("abort reason of sector 1 = %q, %v", reason, ok)
	}
	if got := fm.finalizedList(); got[0] != sector(2) {
		t.Errorf("finalized %v, want sector 2", got)
	}
}

func TestRestartResumesThePersistedJob(t *testing.T) {
	fm := newFakeManager(5)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	r.stop()
	fm.pollPreCommit = nil

	r.open()
	r.start()
	r.waitFor("sector 1 finalized", func() bool { return fm.finalizedCount() >= 1 })
	if got := fm.finalizedList(); got[0] != sector(1) {
		t.Errorf("first finalized sector = %v, want the one in progress before the restart", got[0])
	}
}

func TestPoolErrors(t *testing.T) {
	fm := newFakeManager(0)
	r := newRig(t, fm)
	p := &Pool{Threads: []*Thread{r.thread}}
	check := func(err error, want string) {
		t.Helper()
		code, ok := api.ErrorCode(err)
		if !ok || code != api.ErrCodeInvalidParams || err.Error() != want {
			t.Errorf("err = %v (code %d), want InvalidParams %q", err, code, want)
		}
	}
	_, err := p.Pause(5)
	check(err, "worker #5 not found")
	_, err = p.Resume(1, nil)
	check(err, "worker #1 not found")
	_, err = p.Resume(0, strp("Foo"))
	check(err, "invalid state Foo")
	if ok, err := p.Resume(0, strp("Abort")); err != nil || ok {
		t.Errorf("resume Abort of a running thread = %v, %v; want false, nil", ok, err)
	}
	if s := p.Summary(); s != (api.WorkerInfoSummary{Threads: 1, Empty: 1}) {
		t.Errorf("summary = %+v", s)
	}
}

func TestParseState(t *testing.T) {
	for i, name := range stateNames {
		s, err := ParseState(name)
		if err != nil || s != State(i) || s.String() != name {
			t.Errorf("ParseState(%q) = %v, %v", name, s, err)
		}
	}
	if s, err := ParseState("Abort"); err != nil || s != Aborted {
		t.Errorf("Abort alias = %v, %v", s, err)
	}
	for _, bad := range []string{"", "aborted", "PC1done", "Unknown"} {
		if _, err := ParseState(bad); err == nil || err.Error() != "invalid state "+bad {
			t.Errorf("ParseState(%q) err = %v", bad, err)
		}
	}
}

// gateLimiter blocks the pc1 token until released.
type gateLimiter struct{ open chan struct{} }

func (g gateLimiter) Acquire(ctx context.Context, stage string) (func(), error) {
	if stage == processor.StagePC1 {
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return func() {}, nil
}

func TestSummaryCountsWaitingAndRunningThreads(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	gate := gateLimiter{open: make(chan struct{})}
	r.env.Limits = gate
	inPC1, releasePC1 := make(chan struct{}), make(chan struct{})
	pc1 := r.env.Procs.PC1
	r.env.Procs.PC1 = processor.Func[processor.PC1Input, processor.PC1Output](func(ctx context.Context, in processor.PC1Input) (processor.PC1Output, error) {
		close(inPC1)
		<-releasePC1
		return pc1.Process(ctx, in)
	})
	p := &Pool{Threads: []*Thread{r.thread}}
	r.start()
	r.waitFor("waiting for the pc1 token", func() bool { return p.Summary().Waiting == 1 })
	if s := p.Summary(); s != (api.WorkerInfoSummary{Threads: 1, Waiting: 1}) {
		t.Errorf("summary while waiting = %+v", s)
	}
	close(gate.open)
	<-inPC1
	if s := p.Summary(); s != (api.WorkerInfoSummary{Threads: 1, Running: 1}) {
		t.Errorf("summary while running = %+v", s)
	}
	close(releasePC1)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	r.waitFor("idle", func() bool { return p.Summary() == api.WorkerInfoSummary{Threads: 1, Empty: 1} })
}

func TestStaticTreeDIsLinkedForCCSectors(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	static := filepath.Join(t.TempDir(), "sc-02-data-tree-d.dat")
	if _, err := treed.Build(os.DevNull, static, 2<<10); err != nil {
		t.Fatal(err)
	}
	r.env.StaticTreeD = map[abi.SectorSize]string{2 << 10: static}
	var built atomic.Int32
	r.env.Procs.TreeD = processor.Func[processor.TreeDInput, bool](func(context.Context, processor.TreeDInput) (bool, error) {
		built.Add(1)
		return false, errors.New("tree_d must not be built when a static one is configured")
	})
	linked := make(chan string, 1)
	pc1 := r.env.Procs.PC1
	r.env.Procs.PC1 = processor.Func[processor.PC1Input, processor.PC1Output](func(ctx context.Context, in processor.PC1Input) (processor.PC1Output, error) {
		target, _ := os.Readlink(filepath.Join(r.loc.Prepared(sector(1)), store.TreeDFileName))
		linked <- target
		return pc1.Process(ctx, in)
	})
	r.start()
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if got := <-linked; got != static {
		t.Errorf("prepared tree_d links to %q, want the static %q", got, static)
	}
	if built.Load() != 0 {
		t.Error("the tree_d processor ran")
	}
}

func TestResumeInAStateOfAnotherPlanAborts(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	fm.pollPreCommit = nil
	to := SnapEncoded
	r.resume(&to)
	r.waitFor("sector 1 aborted", func() bool { _, ok := fm.abortReason(sector(1)); return ok })
	if reason, _ := fm.abortReason(sector(1)); reason != "unexpected state SnapEncoded in sealer planner" {
		t.Errorf("abort reason = %q", reason)
	}
}
