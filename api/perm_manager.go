package api

import (
	"context"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

// ManagerStruct serves ServedManagerAPI with a permission check in front of every method, the way
// Lotus's proxy structs do: go-jsonrpc registers methods, so each method calls its field in
// Internal, which PermissionedManagerAPI fills with the check and the implementation. A method
// added to ServedManagerAPI needs its field in ManagerClient (with a perm tag) and its method here;
// the compiler and the tests of this package point at whichever is missing.
type ManagerStruct struct {
	Internal ManagerClient
}

var _ ServedManagerAPI = (*ManagerStruct)(nil)

// PermissionedManagerAPI wraps impl so that every method first checks that the caller (whose
// permissions an AuthHandler put in the context) has the permission of the method's perm tag.
func PermissionedManagerAPI(impl ServedManagerAPI, observe ...CallObserver) *ManagerStruct {
	s := &ManagerStruct{}
	permissioned(impl, &s.Internal, observe...)
	return s
}

func (s *ManagerStruct) AllocateSector(ctx context.Context, spec AllocateSectorSpec) (*AllocatedSector, error) {
	return s.Internal.AllocateSector(ctx, spec)
}

func (s *ManagerStruct) AcquireDeals(ctx context.Context, sid abi.SectorID, spec AcquireDealsSpec) (Deals, error) {
	return s.Internal.AcquireDeals(ctx, sid, spec)
}

func (s *ManagerStruct) AssignTicket(ctx context.Context, sid abi.SectorID) (Ticket, error) {
	return s.Internal.AssignTicket(ctx, sid)
}

func (s *ManagerStruct) SubmitPreCommit(ctx context.Context, sector AllocatedSector, info PreCommitOnChainInfo, hardReset bool) (SubmitPreCommitResp, error) {
	return s.Internal.SubmitPreCommit(ctx, sector, info, hardReset)
}

func (s *ManagerStruct) PollPreCommitState(ctx context.Context, sid abi.SectorID) (PollPreCommitStateResp, error) {
	return s.Internal.PollPreCommitState(ctx, sid)
}

func (s *ManagerStruct) SubmitPersisted(ctx context.Context, sid abi.SectorID, instance string) (bool, error) {
	return s.Internal.SubmitPersisted(ctx, sid, instance)
}

func (s *ManagerStruct) WaitSeed(ctx context.Context, sid abi.SectorID) (WaitSeedResp, error) {
	return s.Internal.WaitSeed(ctx, sid)
}

func (s *ManagerStruct) SubmitProof(ctx context.Context, sid abi.SectorID, info ProofOnChainInfo, hardReset bool) (SubmitProofResp, error) {
	return s.Internal.SubmitProof(ctx, sid, info, hardReset)
}

func (s *ManagerStruct) PollProofState(ctx context.Context, sid abi.SectorID) (PollProofStateResp, error) {
	return s.Internal.PollProofState(ctx, sid)
}

func (s *ManagerStruct) ReportState(ctx context.Context, sid abi.SectorID, req ReportStateReq) error {
	return s.Internal.ReportState(ctx, sid, req)
}

func (s *ManagerStruct) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	return s.Internal.ReportFinalized(ctx, sid)
}

func (s *ManagerStruct) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	return s.Internal.ReportAborted(ctx, sid, reason)
}

func (s *ManagerStruct) AllocateSanpUpSector(ctx context.Context, spec AllocateSnapUpSpec) (*AllocatedSnapUpSector, error) {
	return s.Internal.AllocateSanpUpSector(ctx, spec)
}

func (s *ManagerStruct) SubmitSnapUpProof(ctx context.Context, sid abi.SectorID, info SnapUpOnChainInfo) (SubmitSnapUpProofResp, error) {
	return s.Internal.SubmitSnapUpProof(ctx, sid, info)
}

func (s *ManagerStruct) WorkerPing(ctx context.Context, winfo WorkerInfo) error {
	return s.Internal.WorkerPing(ctx, winfo)
}

func (s *ManagerStruct) StoreReserveSpace(ctx context.Context, sid abi.SectorID, size uint64, candidates []string) (*StoreBasicInfo, error) {
	return s.Internal.StoreReserveSpace(ctx, sid, size, candidates)
}

func (s *ManagerStruct) StoreBasicInfo(ctx context.Context, instanceName string) (*StoreBasicInfo, error) {
	return s.Internal.StoreBasicInfo(ctx, instanceName)
}

func (s *ManagerStruct) Version(ctx context.Context) (string, error) {
	return s.Internal.Version(ctx)
}

func (s *ManagerStruct) ListSectors(ctx context.Context, ws SectorWorkerState, job SectorWorkerJob) ([]*SectorState, error) {
	return s.Internal.ListSectors(ctx, ws, job)
}

func (s *ManagerStruct) FindSector(ctx context.Context, ws SectorWorkerState, sid abi.SectorID) (*SectorState, error) {
	return s.Internal.FindSector(ctx, ws, sid)
}

func (s *ManagerStruct) RestoreSector(ctx context.Context, sid abi.SectorID, forced bool) error {
	return s.Internal.RestoreSector(ctx, sid, forced)
}

func (s *ManagerStruct) SectorHistory(ctx context.Context, sid abi.SectorID) ([]SectorHistoryEntry, error) {
	return s.Internal.SectorHistory(ctx, sid)
}

func (s *ManagerStruct) WorkerGetPingInfo(ctx context.Context, name string) (*WorkerPingInfo, error) {
	return s.Internal.WorkerGetPingInfo(ctx, name)
}

func (s *ManagerStruct) WorkerPingInfoList(ctx context.Context) ([]WorkerPingInfo, error) {
	return s.Internal.WorkerPingInfoList(ctx)
}

func (s *ManagerStruct) WorkerPingInfoRemove(ctx context.Context, name string) error {
	return s.Internal.WorkerPingInfoRemove(ctx, name)
}

func (s *ManagerStruct) WorkerResolveDest(ctx context.Context, worker string) (string, error) {
	return s.Internal.WorkerResolveDest(ctx, worker)
}

func (s *ManagerStruct) WorkerAdminList(ctx context.Context, worker string) ([]WorkerThreadInfo, error) {
	return s.Internal.WorkerAdminList(ctx, worker)
}

func (s *ManagerStruct) WorkerAdminPause(ctx context.Context, worker string, index uint64) (bool, error) {
	return s.Internal.WorkerAdminPause(ctx, worker, index)
}

func (s *ManagerStruct) WorkerAdminResume(ctx context.Context, worker string, index uint64, setTo *string) (bool, error) {
	return s.Internal.WorkerAdminResume(ctx, worker, index, setTo)
}

func (s *ManagerStruct) WorkerAdminDrain(ctx context.Context, worker string, drained bool) (bool, error) {
	return s.Internal.WorkerAdminDrain(ctx, worker, drained)
}

func (s *ManagerStruct) WorkerAdminProgress(ctx context.Context, worker string) ([]ThreadProgress, error) {
	return s.Internal.WorkerAdminProgress(ctx, worker)
}

func (s *ManagerStruct) AuthVerify(ctx context.Context, token string) ([]Permission, error) {
	return s.Internal.AuthVerify(ctx, token)
}

func (s *ManagerStruct) CheckProvable(ctx context.Context, mid abi.ActorID, sectors []proof.ExtendedSectorInfo, strict bool) (map[abi.SectorNumber]string, error) {
	return s.Internal.CheckProvable(ctx, mid, sectors, strict)
}

func (s *ManagerStruct) ProvingInfo(ctx context.Context, mid abi.ActorID, dlIdx *uint64) (*ProvingInfo, error) {
	return s.Internal.ProvingInfo(ctx, mid, dlIdx)
}
