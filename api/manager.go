package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
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
// worker, a registered worker name (not an address, unlike spec/sector-manager.md §1.5), to the
// Dest it registered, and calls the worker's admin API (VenusWorker at http://<dest>/) for the
// caller with its worker-admin credential, so an operator needs to reach only the manager. They
// all need admin. A JSON-RPC error of the worker comes back with the worker's code and its
// message, prefixed by the worker and the address tried.
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

	// WorkerResolveDest says which address the manager uses for worker, a registered name.
	WorkerResolveDest(ctx context.Context, worker string) (string, error)
	// WorkerAdminList proxies VenusWorker.WorkerList to worker.
	WorkerAdminList(ctx context.Context, worker string) ([]WorkerThreadInfo, error)
	// WorkerAdminPause proxies VenusWorker.WorkerPause(index) to worker.
	WorkerAdminPause(ctx context.Context, worker string, index uint64) (bool, error)
	// WorkerAdminResume proxies VenusWorker.WorkerResume(index, setTo) to worker; a nil setTo
	// resumes the thread in its current state.
	WorkerAdminResume(ctx context.Context, worker string, index uint64, setTo *string) (bool, error)
	// WorkerAdminDrain proxies VenusWorker.WorkerDrain(drained) to worker (an addition of ours).
	WorkerAdminDrain(ctx context.Context, worker string, drained bool) (bool, error)
	// WorkerAdminProgress proxies VenusWorker.WorkerProgress to worker (an addition of ours).
	WorkerAdminProgress(ctx context.Context, worker string) ([]ThreadProgress, error)

	// CheckProvable checks each sector's sealed file and cache in the persist stores, as the
	// WindowPoSt scheduler does before a proof; the answer maps each sector that is not provable
	// to the reason (strict: read a byte of every file, not just stat it).
	CheckProvable(ctx context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error)
	// ProvingInfo reads the miner's deadlines and partitions from the chain (ours); with dlIdx,
	// the partitions of that deadline list their live sectors.
	ProvingInfo(ctx context.Context, mid abi.ActorID, dlIdx *uint64) (*ProvingInfo, error)
}

// ManagerAPI is what a manager implementation (the mock, the daemon) serves under Venus at /rpc/v0;
// the server adds AuthAPI.
type ManagerAPI interface {
	SealerAPI
	SealerCliAPI
}

// AuthAPI is Lotus's AuthVerify, answered by the manager's server (sectormgr/server) from its
// secret: a worker asks it about the tokens its admin API receives. A manager without auth (the
// mock without --home) answers it with an error.
type AuthAPI interface {
	AuthVerify(ctx context.Context, token string) ([]Permission, error)
}

// ServedManagerAPI is everything venus-sector-manager serves under Venus at /rpc/v0.
type ServedManagerAPI interface {
	ManagerAPI
	AuthAPI
}

// ManagerClient is a go-jsonrpc client of ServedManagerAPI: one func field per method, same
// signatures; a test checks that the two never drift apart. The perm tag of a field is the
// permission its method needs (PermissionedManagerAPI).
type ManagerClient struct {
	AllocateSector       func(ctx context.Context, spec AllocateSectorSpec) (*AllocatedSector, error)                                              `perm:"write"`
	AcquireDeals         func(ctx context.Context, sid abi.SectorID, spec AcquireDealsSpec) (Deals, error)                                         `perm:"write"`
	AssignTicket         func(ctx context.Context, sid abi.SectorID) (Ticket, error)                                                               `perm:"write"`
	SubmitPreCommit      func(ctx context.Context, sector AllocatedSector, info PreCommitOnChainInfo, hardReset bool) (SubmitPreCommitResp, error) `perm:"write"`
	PollPreCommitState   func(ctx context.Context, sid abi.SectorID) (PollPreCommitStateResp, error)                                               `perm:"write"`
	SubmitPersisted      func(ctx context.Context, sid abi.SectorID, instance string) (bool, error)                                                `perm:"write"`
	WaitSeed             func(ctx context.Context, sid abi.SectorID) (WaitSeedResp, error)                                                         `perm:"write"`
	SubmitProof          func(ctx context.Context, sid abi.SectorID, info ProofOnChainInfo, hardReset bool) (SubmitProofResp, error)               `perm:"write"`
	PollProofState       func(ctx context.Context, sid abi.SectorID) (PollProofStateResp, error)                                                   `perm:"write"`
	ReportState          func(ctx context.Context, sid abi.SectorID, req ReportStateReq) error                                                     `perm:"write"`
	ReportFinalized      func(ctx context.Context, sid abi.SectorID) error                                                                         `perm:"write"`
	ReportAborted        func(ctx context.Context, sid abi.SectorID, reason string) error                                                          `perm:"write"`
	AllocateSanpUpSector func(ctx context.Context, spec AllocateSnapUpSpec) (*AllocatedSnapUpSector, error)                                        `perm:"write"`
	SubmitSnapUpProof    func(ctx context.Context, sid abi.SectorID, info SnapUpOnChainInfo) (SubmitSnapUpProofResp, error)                        `perm:"write"`
	WorkerPing           func(ctx context.Context, winfo WorkerInfo) error                                                                         `perm:"write"`
	StoreReserveSpace    func(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*StoreBasicInfo, error)                    `perm:"write"`
	StoreBasicInfo       func(ctx context.Context, instanceName string) (*StoreBasicInfo, error)                                                   `perm:"write"`
	Version              func(ctx context.Context) (string, error)                                                                                 `perm:"write"`

	ListSectors          func(ctx context.Context, ws SectorWorkerState, job SectorWorkerJob) ([]*SectorState, error)                                     `perm:"read"`
	FindSector           func(ctx context.Context, ws SectorWorkerState, sid abi.SectorID) (*SectorState, error)                                          `perm:"read"`
	RestoreSector        func(ctx context.Context, sid abi.SectorID, forced bool) error                                                                   `perm:"admin"`
	SectorHistory        func(ctx context.Context, sid abi.SectorID) ([]SectorHistoryEntry, error)                                                        `perm:"read"`
	WorkerGetPingInfo    func(ctx context.Context, name string) (*WorkerPingInfo, error)                                                                  `perm:"read"`
	WorkerPingInfoList   func(ctx context.Context) ([]WorkerPingInfo, error)                                                                              `perm:"read"`
	WorkerPingInfoRemove func(ctx context.Context, name string) error                                                                                     `perm:"admin"`
	WorkerResolveDest    func(ctx context.Context, worker string) (string, error)                                                                         `perm:"admin"`
	WorkerAdminList      func(ctx context.Context, worker string) ([]WorkerThreadInfo, error)                                                             `perm:"admin"`
	WorkerAdminPause     func(ctx context.Context, worker string, index uint64) (bool, error)                                                             `perm:"admin"`
	WorkerAdminResume    func(ctx context.Context, worker string, index uint64, setTo *string) (bool, error)                                              `perm:"admin"`
	WorkerAdminDrain     func(ctx context.Context, worker string, drained bool) (bool, error)                                                             `perm:"admin"`
	WorkerAdminProgress  func(ctx context.Context, worker string) ([]ThreadProgress, error)                                                               `perm:"admin"`
	CheckProvable        func(ctx context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error) `perm:"read"`
	ProvingInfo          func(ctx context.Context, mid abi.ActorID, dlIdx *uint64) (*ProvingInfo, error)                                                  `perm:"read"`

	AuthVerify func(ctx context.Context, token string) ([]Permission, error) `perm:"read"`
}

// CallTimeout bounds every client call, so a hung peer turns into a temporary error, not a stuck thread.
const CallTimeout = 60 * time.Second

// NewManagerClient connects to a manager endpoint such as http://127.0.0.1:1789/rpc/v0. Over
// http(s) no I/O happens until the first call.
func NewManagerClient(ctx context.Context, endpoint string, header http.Header) (*ManagerClient, jsonrpc.ClientCloser, error) {
	var c ManagerClient
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, ManagerNamespace, []interface{}{&c}, header,
		jsonrpc.WithHTTPClient(&http.Client{Transport: managerTransport(), Timeout: CallTimeout}), jsonrpc.WithTimeout(CallTimeout))
	if err != nil {
		return nil, nil, err
	}
	return &c, closer, nil
}

// managerIdleConns is how many idle connections a client keeps to its manager: one per sealing
// thread that may call at once. net/http keeps 2 by default, so a worker with more threads than
// that opened (and left in TIME_WAIT) a new TCP connection for most calls.
const managerIdleConns = 1024

func managerTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = managerIdleConns
	t.MaxIdleConnsPerHost = managerIdleConns
	return t
}
