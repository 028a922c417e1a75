package sealing

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

const testMiner = abi.ActorID(10000)

// fakeManager is a scripted sector manager: it allocates up to limit sectors and accepts
// everything, unless a test overrides a call.
type fakeManager struct {
	mu        sync.Mutex
	limit     uint64
	next      uint64
	reports   map[abi.SectorID][]api.ReportStateReq
	finalized []abi.SectorID
	aborted   map[abi.SectorID]string
	calls     map[string]int

	deals      api.Deals
	commR      map[abi.SectorID][32]byte
	precommits map[abi.SectorID]api.PreCommitOnChainInfo
	snapOffer  *api.AllocatedSnapUpSector
	snapProofs map[abi.SectorID]api.SnapUpOnChainInfo

	// Overrides, called with the lock released.
	waitSeed        func() (api.WaitSeedResp, error)
	pollPreCommit   func() (api.PollPreCommitStateResp, error)
	submitPersisted func() (bool, error)
}

func newFakeManager(limit uint64) *fakeManager {
	return &fakeManager{limit: limit, reports: map[abi.SectorID][]api.ReportStateReq{}, aborted: map[abi.SectorID]string{}, calls: map[string]int{},
		commR: map[abi.SectorID][32]byte{}, precommits: map[abi.SectorID]api.PreCommitOnChainInfo{}, snapProofs: map[abi.SectorID]api.SnapUpOnChainInfo{}}
}

func (f *fakeManager) count(method string) {
	f.mu.Lock()
	f.calls[method]++
	f.mu.Unlock()
}

func (f *fakeManager) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeManager) finalizedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.finalized)
}

// finalizedList is the sectors finalized so far, in order.
func (f *fakeManager) finalizedList() []abi.SectorID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]abi.SectorID(nil), f.finalized...)
}

// handedOut is how many sector numbers AllocateSector gave out (calls that got null do not count).
func (f *fakeManager) handedOut() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.next
}

func (f *fakeManager) abortReason(id abi.SectorID) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.aborted[id]
	return r, ok
}

func (f *fakeManager) reportsOf(id abi.SectorID) []api.ReportStateReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.ReportStateReq(nil), f.reports[id]...)
}

var ticket = api.Ticket{Ticket: make([]byte, 32), Epoch: 1}
var seed = api.Seed{Seed: append(make([]byte, 31), 7), Epoch: 2}

func (f *fakeManager) client() *api.ManagerClient {
	landed := api.PollPreCommitStateResp{State: api.OnChainLanded}
	accepted := api.SubmitPreCommitResp{Res: api.SubmitAccepted}
	return &api.ManagerClient{
		AllocateSector: func(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
			f.count("AllocateSector")
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.next >= f.limit {
				return nil, nil
			}
			f.next++
			return &api.AllocatedSector{ID: abi.SectorID{Miner: testMiner, Number: abi.SectorNumber(f.next)}, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1}, nil
		},
		AcquireDeals: func(context.Context, abi.SectorID, api.AcquireDealsSpec) (api.Deals, error) {
			f.count("AcquireDeals")
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.deals, nil
		},
		AssignTicket: func(context.Context, abi.SectorID) (api.Ticket, error) {
			f.count("AssignTicket")
			return ticket, nil
		},
		SubmitPreCommit: func(_ context.Context, s api.AllocatedSector, info api.PreCommitOnChainInfo, _ bool) (api.SubmitPreCommitResp, error) {
			f.count("SubmitPreCommit")
			f.mu.Lock()
			f.commR[s.ID] = info.CommR
			f.precommits[s.ID] = info
			f.mu.Unlock()
			return accepted, nil
		},
		AllocateSanpUpSector: func(context.Context, api.AllocateSnapUpSpec) (*api.AllocatedSnapUpSector, error) {
			f.count("AllocateSanpUpSector")
			f.mu.Lock()
			defer f.mu.Unlock()
			offer := f.snapOffer
			f.snapOffer = nil
			return offer, nil
		},
		SubmitSnapUpProof: func(_ context.Context, id abi.SectorID, info api.SnapUpOnChainInfo) (api.SubmitSnapUpProofResp, error) {
			f.count("SubmitSnapUpProof")
			f.mu.Lock()
			f.snapProofs[id] = info
			f.mu.Unlock()
			return accepted, nil
		},
		StoreBasicInfo: func(_ context.Context, name string) (*api.StoreBasicInfo, error) {
			return &api.StoreBasicInfo{Name: name, Path: name}, nil
		},
		PollPreCommitState: func(context.Context, abi.SectorID) (api.PollPreCommitStateResp, error) {
			f.count("PollPreCommitState")
			if f.pollPreCommit != nil {
				return f.pollPreCommit()
			}
			return landed, nil
		},
		SubmitPersisted: func(context.Context, abi.SectorID, string) (bool, error) {
			f.count("SubmitPersisted")
			if f.submitPersisted != nil {
				return f.submitPersisted()
			}
			return true, nil
		},
		WaitSeed: func(context.Context, abi.SectorID) (api.WaitSeedResp, error) {
			f.count("WaitSeed")
			if f.waitSeed != nil {
				return f.waitSeed()
			}
			return api.WaitSeedResp{Seed: &seed}, nil
		},
		SubmitProof: func(context.Context, abi.SectorID, api.ProofOnChainInfo, bool) (api.SubmitProofResp, error) {
			f.count("SubmitProof")
			return accepted, nil
		},
		PollProofState: func(context.Context, abi.SectorID) (api.PollProofStateResp, error) {
			f.count("PollProofState")
			return landed, nil
		},
		ReportState: func(_ context.Context, id abi.SectorID, req api.ReportStateReq) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reports[id] = append(f.reports[id], req)
			return nil
		},
		ReportFinalized: func(_ context.Context, id abi.SectorID) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.finalized = append(f.finalized, id)
			return nil
		},
		ReportAborted: func(_ context.Context, id abi.SectorID, reason string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.aborted[id] = reason
			return nil
		},
		StoreReserveSpace: func(_ context.Context, _ abi.SectorID, _ uint64, candidates []string) (*api.StoreBasicInfo, error) {
			f.count("StoreReserveSpace")
			return &api.StoreBasicInfo{Name: candidates[0], Path: candidates[0]}, nil
		},
	}
}

// testRig is one sealing thread on temp dirs, wired to a fake manager and built-in processors.
type testRig struct {
	t        *testing.T
	fm       *fakeManager
	locDir   string
	persist  *store.Attached
	loc      *store.Location
	env      *Env
	thread   *Thread
	cancel   context.CancelFunc
	finished chan struct{}
}

func testOptions() config.Sealing {
	return config.Sealing{
		MaxRetries:          3,
		SealInterval:        5 * time.Millisecond,
		RecoverInterval:     5 * time.Millisecond,
		RPCPollingInterval:  5 * time.Millisecond,
		ReserveSpaceTimeout: time.Minute,
	}
}

func newRig(t *testing.T, fm *fakeManager) *testRig {
	t.Helper()
	r := &testRig{t: t, fm: fm, locDir: t.TempDir()}
	if err := store.SealingInit(r.locDir); err != nil {
		t.Fatal(err)
	}
	persistDir := t.TempDir()
	persist, err := store.OpenAttached(persistDir, "persist-store1", false)
	if err != nil {
		t.Fatal(err)
	}
	r.persist = persist
	set, err := store.NewAttachedSet([]*store.Attached{persist})
	if err != nil {
		t.Fatal(err)
	}
	r.env = &Env{RPC: fm.client(), Procs: builtin.New(), Attached: set, Instance: "test-worker"}
	r.open()
	return r
}

// open (re)opens the location and makes a fresh thread on it, as a restarted daemon does.
func (r *testRig) open() {
	loc, err := store.OpenLocation(r.locDir)
	if err != nil {
		r.t.Fatal(err)
	}
	r.loc = loc
	r.thread = NewThread(0, "sealer", testOptions(), loc, r.env, testLogger(r.t))
}

func (r *testRig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.finished = make(chan struct{})
	go func() {
		defer close(r.finished)
		r.thread.Run(ctx)
	}()
	r.t.Cleanup(r.stop)
}

// stop ends the thread and closes the location, like a daemon shutting down.
func (r *testRig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	select {
	case <-r.finished:
	case <-time.After(10 * time.Second):
		r.t.Fatal("sealing thread did not stop within 10s of cancel")
	}
	r.cancel = nil
	r.loc.Close()
}

func (r *testRig) info() api.WorkerThreadInfo { return r.thread.Ctrl.Info(0, r.loc.Root) }

// waitFor polls cond until it holds, failing the test after a generous deadline.
func (r *testRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; thread: %+v", what, r.info())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *testRig) waitPaused() api.WorkerThreadInfo {
	r.t.Helper()
	r.waitFor("thread to pause", func() bool { return r.info().Paused })
	return r.info()
}
