// Package stateapi serves the Venus methods that work on the manager's own state, the same for
// the mock and the daemon: state reports, worker pings, sector listings for `util sealer
// sectors`, and the worker admin proxy for `util worker`. A manager embeds *API and adds the
// chain-facing methods.
package stateapi

import (
	"context"
	"sync/atomic"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proxy"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

var log = logging.Logger("state")

// API implements the state-keeping part of api.ManagerAPI. Errors of the sector store are
// returned as they are, never wrapped, so code 11001 reaches the worker (go-jsonrpc reads the
// code of the outermost error only).
type API struct {
	sectors *sectors.Store
	workers *registry.Registry
	proxyP  atomic.Pointer[proxy.Proxy]
}

// New builds the API over a sector store and a worker registry; the proxy resolves names in it.
func New(s *sectors.Store, w *registry.Registry) *API {
	a := &API{sectors: s, workers: w}
	a.proxyP.Store(proxy.New(w))
	return a
}

// SetWorkerToken makes the worker admin proxy send token with every call, so workers with auth
// accept the manager's util worker calls: the manager's worker-admin credential
// (api.PermWorkerAdmin), never its admin token.
func (a *API) SetWorkerToken(token string) {
	a.proxyP.Store(a.proxy().WithToken(token))
}

func (a *API) proxy() *proxy.Proxy { return a.proxyP.Load() }

// ReportState keeps the report as the sector's latest state and appends it to its history.
func (a *API) ReportState(ctx context.Context, sid abi.SectorID, req api.ReportStateReq) error {
	log.Debugw("ReportState", "sector", api.FormatSectorID(sid), "prev", req.StateChange.Prev,
		"next", req.StateChange.Next, "event", req.StateChange.Event, "failure", req.Failure)
	return a.sectors.ReportState(sid, req)
}

// ReportFinalized moves a sealed sector to the offline store.
func (a *API) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	err := a.sectors.Finalize(sid)
	if err == nil {
		log.Infow("sector finalized", "sector", api.FormatSectorID(sid))
	}
	return err
}

// ReportAborted moves an aborted sector to the offline store with the reason.
func (a *API) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	err := a.sectors.Abort(sid, reason)
	if err == nil {
		log.Infow("sector aborted", "sector", api.FormatSectorID(sid), "reason", reason)
	}
	return err
}

// ListSectors lists one store in key order, filtered by job.
func (a *API) ListSectors(ctx context.Context, ws api.SectorWorkerState, job api.SectorWorkerJob) ([]*api.SectorState, error) {
	return a.sectors.List(ws, job)
}

// FindSector loads one sector from one store.
func (a *API) FindSector(ctx context.Context, ws api.SectorWorkerState, sid abi.SectorID) (*api.SectorState, error) {
	return a.sectors.Find(ws, sid)
}

// RestoreSector moves an offline sector back online.
func (a *API) RestoreSector(ctx context.Context, sid abi.SectorID, forced bool) error {
	err := a.sectors.Restore(sid, forced)
	if err == nil {
		log.Infow("sector restored", "sector", api.FormatSectorID(sid), "forced", forced)
	}
	return err
}

// SectorHistory returns every state report of a sector, oldest first.
func (a *API) SectorHistory(ctx context.Context, sid abi.SectorID) ([]api.SectorHistoryEntry, error) {
	return a.sectors.History(sid)
}

// WorkerPing records a worker's ping, stamped with the manager's clock. The name is bound to the
// caller's token (registry.PingFrom), so another worker's token cannot take it over.
func (a *API) WorkerPing(ctx context.Context, winfo api.WorkerInfo) error {
	log.Debugw("WorkerPing", "name", winfo.Name, "dest", winfo.Dest, "version", winfo.Version, "summary", winfo.Summary)
	return a.workers.PingFrom(winfo, api.CallerID(ctx))
}

// WorkerGetPingInfo returns null for a worker that never pinged.
func (a *API) WorkerGetPingInfo(ctx context.Context, name string) (*api.WorkerPingInfo, error) {
	return a.workers.Get(name)
}

// WorkerPingInfoList lists the registry in name order.
func (a *API) WorkerPingInfoList(ctx context.Context) ([]api.WorkerPingInfo, error) {
	return a.workers.List()
}

// WorkerPingInfoRemove drops a worker from the registry.
func (a *API) WorkerPingInfoRemove(ctx context.Context, name string) error {
	err := a.workers.Remove(name)
	if err == nil {
		log.Infow("worker removed", "name", name)
	}
	return err
}

// WorkerResolveDest says where the proxy reaches worker, a registered name.
func (a *API) WorkerResolveDest(ctx context.Context, worker string) (string, error) {
	return a.proxy().ResolveDest(worker)
}

// WorkerAdminList lists the worker's sealing threads.
func (a *API) WorkerAdminList(ctx context.Context, worker string) ([]api.WorkerThreadInfo, error) {
	return a.proxy().List(ctx, worker)
}

// WorkerAdminPause pauses one of the worker's sealing threads.
func (a *API) WorkerAdminPause(ctx context.Context, worker string, index uint64) (bool, error) {
	ok, err := a.proxy().Pause(ctx, worker, index)
	log.Infow("WorkerAdminPause", "worker", worker, "index", index, "ok", ok, "err", err)
	return ok, err
}

// WorkerAdminResume resumes one of the worker's sealing threads, in setTo if it is not null.
func (a *API) WorkerAdminResume(ctx context.Context, worker string, index uint64, setTo *string) (bool, error) {
	ok, err := a.proxy().Resume(ctx, worker, index, setTo)
	log.Infow("WorkerAdminResume", "worker", worker, "index", index, "state", setTo, "ok", ok, "err", err)
	return ok, err
}

// WorkerAdminProgress says where each of the worker's threads stands in its state.
func (a *API) WorkerAdminProgress(ctx context.Context, worker string) ([]api.ThreadProgress, error) {
	return a.proxy().Progress(ctx, worker)
}

// WorkerAdminDrain turns the worker's drain on or off.
func (a *API) WorkerAdminDrain(ctx context.Context, worker string, drained bool) (bool, error) {
	changed, err := a.proxy().Drain(ctx, worker, drained)
	log.Infow("WorkerAdminDrain", "worker", worker, "drained", drained, "changed", changed, "err", err)
	return changed, err
}
