package sealing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// resume resumes the paused thread (in to, if not nil), waiting until it listens for the resume.
func (r *testRig) resume(to *State) {
	r.t.Helper()
	r.waitFor("the thread to take the resume", func() bool { return r.thread.Ctrl.RequestResume(to) })
}

// abortAtTicket makes AssignTicket answer 11001 for the sector numbered n: the manager dropped it.
func abortAtTicket(r *testRig, n abi.SectorNumber) {
	assign := r.env.RPC.AssignTicket
	r.env.RPC.AssignTicket = func(ctx context.Context, id abi.SectorID) (api.Ticket, error) {
		if id.Number == n {
			return api.Ticket{}, api.ErrSectorStateNotFound()
		}
		return assign(ctx, id)
	}
}

// flakyAborts makes ReportAborted fail the first failures calls; each call sees the job record as
// it is on disk at that moment.
type flakyAborts struct {
	mu       sync.Mutex
	failures int
	calls    int
	states   []string // the persisted state at each call, "none" without a record
}

func (f *flakyAborts) install(r *testRig) {
	report := r.env.RPC.ReportAborted
	r.env.RPC.ReportAborted = func(ctx context.Context, id abi.SectorID, reason string) error {
		rec, ok, _ := loadRecord(r.loc.DB)
		f.mu.Lock()
		f.calls++
		st := "none"
		if ok {
			st = rec.State.String()
		}
		f.states = append(f.states, st)
		fail := f.calls <= f.failures
		f.mu.Unlock()
		if fail {
			return errors.New("connection refused")
		}
		return report(ctx, id, reason)
	}
}

func (f *flakyAborts) seen() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, strings.Join(f.states, ",")
}

// A failed ReportAborted is retried every recover_interval, and the job record, persisted in
// Aborted, stays until the manager acknowledged the abort; only then is the next sector taken.
func TestReportAbortedIsRetriedUntilAcknowledged(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	abortAtTicket(r, 1)
	aborts := &flakyAborts{failures: 2}
	aborts.install(r)
	r.start()
	r.waitFor("sector 2 finalized", func() bool { return fm.finalizedCount() == 1 })
	if reason, ok := fm.abortReason(sector(1)); !ok || !strings.Contains(reason, "sector state not found") {
		t.Errorf("abort of sector 1 = %q, %v", reason, ok)
	}
	if calls, states := aborts.seen(); calls != 3 || states != "Aborted,Aborted,Aborted" {
		t.Errorf("ReportAborted: %d calls, record states %s; want 3, Aborted at each", calls, states)
	}
}

// A manager that never acknowledges the abort: after max_retries the thread pauses with the
// error and keeps the job; a restart and a resume report it again, then the thread moves on.
func TestUnacknowledgedAbortPausesAndKeepsTheJob(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	abortAtTicket(r, 1)
	aborts := &flakyAborts{failures: 1 << 30}
	aborts.install(r)
	r.start()
	info := r.waitPaused()
	want := "permanent: the sector manager did not acknowledge the abort of s-t010000-1 after 4 attempts: connection refused " +
		"(the job stays; resume to report it again)"
	if info.LastError == nil || *info.LastError != want || info.State != "Aborted" {
		t.Fatalf("paused thread = %+v\nwant last_error %q", info, want)
	}
	if rec, ok, _ := loadRecord(r.loc.DB); !ok || rec.State != Aborted || *rec.SectorID() != sector(1) {
		t.Fatalf("job record = %+v, %v; want sector 1 kept in Aborted", rec, ok)
	}

	r.stop()
	r.open()
	aborts.mu.Lock()
	aborts.failures = aborts.calls // from now on the manager answers
	aborts.mu.Unlock()
	r.start()
	r.waitFor("sector 2 finalized", func() bool { return fm.finalizedCount() == 1 })
	if _, ok := fm.abortReason(sector(1)); !ok {
		t.Error("sector 1 never reported aborted")
	}
}

// A job record this version cannot read (a damaged field, or a plan it does not know) pauses the
// thread with an error that says how to clear it; resuming in Aborted tells the manager its
// sector is aborted, drops the record, and the thread starts clean.
func TestUnreadableJobIsClearedByResumeAborted(t *testing.T) {
	for name, c := range map[string]struct{ raw, err string }{
		"damaged": {`{"version":1,"plan":"sealer","state":99,"retry":0,"base":{"allocated":{"ID":{"Miner":10000,"Number":7},"ProofType":5}}}`,
			"critical: decode job record meta/info: unknown state ordinal 99"},
		"unknown plan": {`{"version":1,"plan":"rebuild","state":0,"retry":0,"base":{"allocated":{"ID":{"Miner":10000,"Number":7},"ProofType":5},"prove_input":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],7]}}`,
			`critical: job record meta/info: unknown plan "rebuild" (want sealer or snapup)`},
		"not JSON": {`{"version":1,`, "critical: decode job record meta/info: unexpected end of JSON input"},
	} {
		t.Run(name, func(t *testing.T) {
			fm := newFakeManager(1)
			r := newRig(t, fm)
			if err := r.loc.DB.Put(recordKey, []byte(c.raw)); err != nil {
				t.Fatal(err)
			}
			r.start()
			info := r.waitPaused()
			want := c.err + " (resume with --state Aborted to drop the job and start a new one)"
			if info.LastError == nil || *info.LastError != want {
				t.Fatalf("last_error = %v\nwant %q", info.LastError, want)
			}
			// A plain resume does not help: the record is still there.
			r.resume(nil)
			r.waitFor("paused again", func() bool { i := r.info(); return i.Paused && i.LastError != nil })

			to := Aborted
			r.resume(&to)
			r.waitFor("a new sector finalized", func() bool { return fm.finalizedCount() == 1 })
			if got := fm.finalizedList(); got[0] != sector(1) {
				t.Errorf("finalized %v", got)
			}
			reason, reported := fm.abortReason(sector(7))
			if name == "not JSON" {
				if reported {
					t.Errorf("a record without a readable sector reported sector 7 aborted")
				}
				return
			}
			if !reported || reason != "job record dropped by resume --state Aborted: "+strings.TrimPrefix(c.err, "critical: ")+
				" (resume with --state Aborted to drop the job and start a new one)" {
				t.Errorf("abort of sector 7 = %q, %v", reason, reported)
			}
		})
	}
}

// StoreReserveSpace answering null waits at most reserve_space_timeout, then fails as a
// temporary failure: retried max_retries times, then the thread pauses saying why.
func TestReserveSpaceNullIsBoundedAndTemporary(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	var asked sync.Map
	r.env.RPC.StoreReserveSpace = func(_ context.Context, id abi.SectorID, size uint64, candidates []string) (*api.StoreBasicInfo, error) {
		fm.count("StoreReserveSpace")
		asked.Store(fmt.Sprint(id.Number, size, candidates), true)
		return nil, nil
	}
	r.thread.Opts.ReserveSpaceTimeout = 20 * r.thread.Opts.RPCPollingInterval
	r.thread.Opts.MaxRetries = 2
	r.start()
	info := r.waitPaused()
	size := store.RequiredPersistSize(2 << 10)
	cause := fmt.Sprintf("no persist store among [persist-store1] had room for %d bytes within 100ms (sealing.reserve_space_timeout)", size)
	if info.LastError == nil || *info.LastError != "permanent: gave up after 2 temporary failures: "+cause || info.State != "PCLanded" {
		t.Fatalf("paused thread = %+v\nwant last_error %q", info, "permanent: gave up after 2 temporary failures: "+cause)
	}
	var levels []string
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.Failure != nil {
			levels = append(levels, rep.Failure.Level+": "+rep.Failure.Desc)
		}
	}
	wantLevels := []string{"Temporary: " + cause, "Temporary: " + cause, "Temporary: " + cause, "Permanent: gave up after 2 temporary failures: " + cause}
	if strings.Join(levels, "|") != strings.Join(wantLevels, "|") {
		t.Errorf("failure reports:\n%s\nwant\n%s", strings.Join(levels, "\n"), strings.Join(wantLevels, "\n"))
	}
	// Each attempt asked more than once before giving up: it waited, it did not fail at the first null.
	if n := fm.callCount("StoreReserveSpace"); n < 6 {
		t.Errorf("StoreReserveSpace asked %d times over 3 attempts", n)
	}
	if _, ok := asked.Load(fmt.Sprint(1, size, []string{"persist-store1"})); !ok {
		t.Error("StoreReserveSpace was not asked for sector 1 with the required size")
	}
}

// newJob is a job of a thread that reports synchronously (no reporter): what a report sees on
// disk is decided by the order of save and report in apply.
func newJob(t *testing.T, fm *fakeManager, state State) (*job, *testRig) {
	t.Helper()
	r := newRig(t, fm)
	rec := newRecord("sealer")
	rec.State = state
	rec.Base = &Base{Allocated: api.AllocatedSector{ID: sector(1), ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1}}
	if err := saveRecord(r.loc.DB, rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.loc.Close() })
	return &job{ctx: context.Background(), t: r.thread, rec: rec, planner: sealer{sealerTable}, log: r.thread.log}, r
}

// A transition is durable before the manager hears of it, and a step that succeeded resets the
// retry budget, durably too.
func TestApplySavesBeforeItReports(t *testing.T) {
	fm := newFakeManager(1)
	j, r := newJob(t, fm, Allocated)
	j.rec.Retry = 2
	var onDisk []string
	r.env.RPC.ReportState = func(_ context.Context, _ abi.SectorID, req api.ReportStateReq) error {
		rec, _, err := loadRecord(r.loc.DB)
		if err != nil {
			return err
		}
		onDisk = append(onDisk, fmt.Sprintf("report %s, disk %s retry %d", req.StateChange.Next, rec.State, rec.Retry))
		return nil
	}
	if f := j.apply(event(EvAcquireDeals, nil)); f != nil {
		t.Fatal(f)
	}
	if got := strings.Join(onDisk, "|"); got != "report DealsAcquired, disk DealsAcquired retry 0" {
		t.Errorf("when the report was sent: %s", got)
	}
}

// A transition that cannot be saved is a critical failure, and is not reported.
func TestApplyRefusesAnUnsavedTransition(t *testing.T) {
	fm := newFakeManager(1)
	j, r := newJob(t, fm, Allocated)
	r.loc.DB.Close()
	f := j.apply(event(EvAcquireDeals, nil))
	if f == nil || f.Level != Critical || !strings.HasPrefix(f.Error(), "critical: write job record: ") {
		t.Fatalf("apply with a closed metadb = %v", f)
	}
	if reps := fm.reportsOf(sector(1)); len(reps) != 0 {
		t.Errorf("an unsaved transition was reported: %+v", reps)
	}
}

// Each temporary failure spends one retry, durably, so a restart does not refill the budget; the
// last one escalates and resets the counter for the operator's resume.
func TestRetryCounterIsSaved(t *testing.T) {
	fm := newFakeManager(1)
	j, r := newJob(t, fm, PersistanceSubmitted)
	for want := uint32(1); want <= 3; want++ {
		if f := j.retry(temp("rpc WaitSeed: down")); f != nil {
			t.Fatalf("retry %d = %v", want, f)
		}
		if rec, _, _ := loadRecord(r.loc.DB); rec.Retry != want {
			t.Fatalf("persisted retry = %d, want %d", rec.Retry, want)
		}
	}
	f := j.retry(temp("rpc WaitSeed: down"))
	if f == nil || f.Error() != "permanent: gave up after 3 temporary failures: rpc WaitSeed: down" {
		t.Fatalf("retry past max_retries = %v", f)
	}
	if rec, _, _ := loadRecord(r.loc.DB); rec.Retry != 0 {
		t.Errorf("persisted retry after giving up = %d, want 0", rec.Retry)
	}
}

// Every submission verdict has its level (spec/worker.md §6.2): a rejection drops the sector.
func TestSubmitVerdicts(t *testing.T) {
	ok := event(EvSubmitPC, nil)
	desc := "out of funds"
	for res, want := range map[api.SubmitResult]string{
		api.SubmitAccepted:             "event",
		api.SubmitDuplicateSubmit:      "event",
		api.SubmitMismatchedSubmission: "permanent: pre-commit mismatched: out of funds",
		api.SubmitRejected:             "abort: pre-commit rejected: out of funds",
		api.SubmitFilesMissed:          "permanent: pre-commit files missed: out of funds",
		api.SubmitResult(99):           "temporary: unexpected pre-commit submit result 99",
	} {
		ev, f := submitted("pre-commit", api.SubmitPreCommitResp{Res: res, Desc: &desc}, ok)
		got := "event"
		if f != nil {
			got = f.Error()
		}
		if got != want || (f == nil) != (ev == ok) {
			t.Errorf("result %d: %q (event %v), want %q", res, got, ev, want)
		}
	}
}

// A message the chain failed is re-submitted with the reset flag, once; the flag is cleared when
// the re-submission is accepted.
func TestFailedMessagesAreResubmittedWithReset(t *testing.T) {
	defer func(d time.Duration) { resubmitWait = d }(resubmitWait)
	resubmitWait = 0
	fm := newFakeManager(1)
	var mu sync.Mutex
	var preFailed, proofFailed bool
	fm.pollPreCommit = func() (api.PollPreCommitStateResp, error) {
		mu.Lock()
		defer mu.Unlock()
		if !preFailed {
			preFailed = true
			return api.PollPreCommitStateResp{State: api.OnChainFailed}, nil
		}
		return api.PollPreCommitStateResp{State: api.OnChainLanded}, nil
	}
	r := newRig(t, fm)
	var resets []string
	submitPC, submitProof, pollProof := r.env.RPC.SubmitPreCommit, r.env.RPC.SubmitProof, r.env.RPC.PollProofState
	r.env.RPC.SubmitPreCommit = func(ctx context.Context, s api.AllocatedSector, info api.PreCommitOnChainInfo, reset bool) (api.SubmitPreCommitResp, error) {
		mu.Lock()
		resets = append(resets, fmt.Sprint("pc ", reset))
		mu.Unlock()
		return submitPC(ctx, s, info, reset)
	}
	r.env.RPC.SubmitProof = func(ctx context.Context, id abi.SectorID, info api.ProofOnChainInfo, reset bool) (api.SubmitProofResp, error) {
		mu.Lock()
		resets = append(resets, fmt.Sprint("proof ", reset))
		mu.Unlock()
		return submitProof(ctx, id, info, reset)
	}
	r.env.RPC.PollProofState = func(ctx context.Context, id abi.SectorID) (api.PollProofStateResp, error) {
		mu.Lock()
		defer mu.Unlock()
		if !proofFailed {
			proofFailed = true
			return api.PollProofStateResp{State: api.OnChainFailed}, nil
		}
		return pollProof(ctx, id)
	}
	r.start()
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(resets, ","); got != "pc false,pc true,proof false,proof true" {
		t.Errorf("submissions = %s", got)
	}
}

// The job record as it is on disk, every field set: a renamed JSON key would make a restarted
// worker lose its sector's data, so the exact text is pinned.
func TestRecordJSONIsPinned(t *testing.T) {
	rec := pinnedRecord()
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != pinnedRecordJSON {
		t.Errorf("record JSON:\n%s\nwant\n%s", raw, pinnedRecordJSON)
	}
	var back Record
	if err := json.Unmarshal([]byte(pinnedRecordJSON), &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if string(again) != pinnedRecordJSON {
		t.Errorf("decoded and encoded again:\n%s", again)
	}
}
