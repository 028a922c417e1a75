package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
)

// SealerAPI is the part of the Venus namespace that sealing workers call (spec/worker.md §7).
// Method names, parameter order and types are the wire contract; do not rename.
type SealerAPI interface {
	AllocateSector(ctx context.Context, spec AllocateSectorSpec) (*AllocatedSector, error)
	AcquireDeals(ctx context.Context, sid abi.SectorID, spec AcquireDealsSpec) (Deals, error)
	AssignTicket(ctx context.Context, sid abi.SectorID) (Ticket, error)
	SubmitPreCommit(ctx context.Context, sector AllocatedSector, info PreCommitOnChainInfo, hardReset bool) (SubmitPreCommitResp, error)
	PollPreCommitState(ctx context.Context, sid abi.SectorID) (PollPreCommitStateResp, error)
	SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error)
	WaitSeed(ctx context.Context, sid abi.SectorID) (WaitSeedResp, error)
	SubmitProof(ctx context.Context, sid abi.SectorID, info ProofOnChainInfo, hardReset bool) (SubmitProofResp, error)
	PollProofState(ctx context.Context, sid abi.SectorID) (PollProofStateResp, error)
	ReportState(ctx context.Context, sid abi.SectorID, req ReportStateReq) error
	ReportFinalized(ctx context.Context, sid abi.SectorID) error
	ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error
	// AllocateSanpUpSector keeps the original's misspelling: it is the wire name.
	AllocateSanpUpSector(ctx context.Context, spec AllocateSnapUpSpec) (*AllocatedSnapUpSector, error)
	SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info SnapUpOnChainInfo) (SubmitSnapUpProofResp, error)
	WorkerPing(ctx context.Context, winfo WorkerInfo) error
	StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*StoreBasicInfo, error)
	StoreBasicInfo(ctx context.Context, instanceName string) (*StoreBasicInfo, error)
	// Version names the manager build (damocles has it); a mock manager's ends with MockChainTag.
	// A worker with mock proofs asks it at start-up and refuses any manager that is not a mock.
	Version(ctx context.Context) (string, error)
}

// MockChainTag ends the Version of a manager whose chain is mocked: the only kind of manager that
// may receive mock proofs.
const MockChainTag = "(chain: mock)"

// IsMockManager tells from a manager's Version whether its chain is mocked.
func IsMockManager(version string) bool { return strings.HasSuffix(version, MockChainTag) }

// SealerCliAPI is the part of the Venus namespace that operators' tools (`util`) call.
//
// The Worker* proxies are ours (the original CLI dialled workers itself): the manager resolves
// worker, a registered worker name or an address, as spec/sector-manager.md §1.5 says, and calls
// the worker's admin API (VenusWorker at http://<dest>/) for the caller, so an operator needs to
// reach only the manager. A JSON-RPC error of the worker comes back with the worker's code and
// its message, prefixed by the worker and the address tried.
type SealerCliAPI interface {
	// ListSectors lists the states of one store ("online" or "offline") in key order
	// (m-<miner>-n-<number>, lexicographic), filtered by job.
	ListSectors(ctx context.Context, ws SectorWorkerState, job SectorWorkerJob) ([]*SectorState, error)
	// FindSector loads one sector from one store; a sector that is not there is an error.
	FindSector(ctx context.Context, ws SectorWorkerState, sid abi.SectorID) (*SectorState, error)
	// RestoreSector moves an offline sector back online (spec §4.2); forced skips the checks
	// that it was aborted and holds no deals.
	RestoreSector(ctx context.Context, sid abi.SectorID, forced bool) error
	// SectorHistory returns every state report of a sector, oldest first (null if none).
	SectorHistory(ctx context.Context, sid abi.SectorID) ([]SectorHistoryEntry, error)

	WorkerGetPingInfo(ctx context.Context, name string) (*WorkerPingInfo, error)
	WorkerPingInfoList(ctx context.Context) ([]WorkerPingInfo, error)
	// WorkerPingInfoRemove drops a worker from the registry; an unknown name is an error. A
	// worker that still runs registers again at its next ping.
	WorkerPingInfoRemove(ctx context.Context, name string) error

	// WorkerResolveDest says which address the manager uses for worker (name or address).
	WorkerResolveDest(ctx context.Context, worker string) (string, error)
	// WorkerAdminList proxies VenusWorker.WorkerList to worker.
	WorkerAdminList(ctx context.Context, worker string) ([]WorkerThreadInfo, error)
	// WorkerAdminPause proxies VenusWorker.WorkerPause(index) to worker.
	WorkerAdminPause(ctx context.Context, worker string, index uint64) (bool, error)
	// WorkerAdminResume proxies VenusWorker.WorkerResume(index, setTo) to worker; a nil setTo
	// resumes the thread in its current state.
	WorkerAdminResume(ctx context.Context, worker string, index uint64, setTo *string) (bool, error)
}

// ManagerAPI is everything venus-sector-manager serves under Venus at /rpc/v0.
type ManagerAPI interface {
	SealerAPI
	SealerCliAPI
}

// ManagerClient is a go-jsonrpc client of ManagerAPI: one func field per method, same signatures.
// A test checks that the two never drift apart.
type ManagerClient struct {
	AllocateSector       func(ctx context.Context, spec AllocateSectorSpec) (*AllocatedSector, error)
	AcquireDeals         func(ctx context.Context, sid abi.SectorID, spec AcquireDealsSpec) (Deals, error)
	AssignTicket         func(ctx context.Context, sid abi.SectorID) (Ticket, error)
	SubmitPreCommit      func(ctx context.Context, sector AllocatedSector, info PreCommitOnChainInfo, hardReset bool) (SubmitPreCommitResp, error)
	PollPreCommitState   func(ctx context.Context, sid abi.SectorID) (PollPreCommitStateResp, error)
	SubmitPersisted      func(ctx context.Context, sid abi.SectorID, instance string) (bool, error)
	WaitSeed             func(ctx context.Context, sid abi.SectorID) (WaitSeedResp, error)
	SubmitProof          func(ctx context.Context, sid abi.SectorID, info ProofOnChainInfo, hardReset bool) (SubmitProofResp, error)
	PollProofState       func(ctx context.Context, sid abi.SectorID) (PollProofStateResp, error)
	ReportState          func(ctx context.Context, sid abi.SectorID, req ReportStateReq) error
	ReportFinalized      func(ctx context.Context, sid abi.SectorID) error
	ReportAborted        func(ctx context.Context, sid abi.SectorID, reason string) error
	AllocateSanpUpSector func(ctx context.Context, spec AllocateSnapUpSpec) (*AllocatedSnapUpSector, error)
	SubmitSnapUpProof    func(ctx context.Context, sid abi.SectorID, info SnapUpOnChainInfo) (SubmitSnapUpProofResp, error)
	WorkerPing           func(ctx context.Context, winfo WorkerInfo) error
	StoreReserveSpace    func(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*StoreBasicInfo, error)
	StoreBasicInfo       func(ctx context.Context, instanceName string) (*StoreBasicInfo, error)
	Version              func(ctx context.Context) (string, error)

	ListSectors          func(ctx context.Context, ws SectorWorkerState, job SectorWorkerJob) ([]*SectorState, error)
	FindSector           func(ctx context.Context, ws SectorWorkerState, sid abi.SectorID) (*SectorState, error)
	RestoreSector        func(ctx context.Context, sid abi.SectorID, forced bool) error
	SectorHistory        func(ctx context.Context, sid abi.SectorID) ([]SectorHistoryEntry, error)
	WorkerGetPingInfo    func(ctx context.Context, name string) (*WorkerPingInfo, error)
	WorkerPingInfoList   func(ctx context.Context) ([]WorkerPingInfo, error)
	WorkerPingInfoRemove func(ctx context.Context, name string) error
	WorkerResolveDest    func(ctx context.Context, worker string) (string, error)
	WorkerAdminList      func(ctx context.Context, worker string) ([]WorkerThreadInfo, error)
	WorkerAdminPause     func(ctx context.Context, worker string, index uint64) (bool, error)
	WorkerAdminResume    func(ctx context.Context, worker string, index uint64, setTo *string) (bool, error)
}

// CallTimeout bounds every client call, so a hung peer turns into a temporary error, not a stuck thread.
const CallTimeout = 60 * time.Second

// NewManagerClient connects to a manager endpoint such as http://127.0.0.1:1789/rpc/v0. Over
// http(s) no I/O happens until the first call.
func NewManagerClient(ctx context.Context, endpoint string, header http.Header) (*ManagerClient, jsonrpc.ClientCloser, error) {
	var c ManagerClient
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, ManagerNamespace, []interface{}{&c}, header,
		jsonrpc.WithHTTPClient(&http.Client{Timeout: CallTimeout}), jsonrpc.WithTimeout(CallTimeout))
	if err != nil {
		return nil, nil, err
	}
	return &c, closer, nil
}
