package mock

import (
	"context"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// ReportState keeps only the latest report of a sector, as the original daemon does.
func (m *Mock) ReportState(ctx context.Context, sid abi.SectorID, req api.ReportStateReq) error {
	log.Debugw("ReportState", "sector", api.FormatSectorID(sid), "prev", req.StateChange.Prev,
		"next", req.StateChange.Next, "event", req.StateChange.Event, "failure", req.Failure)
	report := req
	if req.Failure != nil {
		failure := *req.Failure
		report.Failure = &failure
	}
	return m.withOnline(sid, func(st *api.SectorState) error {
		st.LatestState = &report
		return nil
	})
}

// ReportFinalized moves a sealed sector to the offline store.
func (m *Mock) ReportFinalized(ctx context.Context, sid abi.SectorID) error {
	log.Debugw("ReportFinalized", "sector", api.FormatSectorID(sid))
	err := m.moveOffline(sid, func(*api.SectorState) {})
	if err == nil {
		log.Infow("sector finalized", "sector", api.FormatSectorID(sid))
	}
	return err
}

// ReportAborted moves an aborted sector to the offline store; the reason tells it apart from a
// finalized one.
func (m *Mock) ReportAborted(ctx context.Context, sid abi.SectorID, reason string) error {
	log.Debugw("ReportAborted", "sector", api.FormatSectorID(sid), "reason", reason)
	err := m.moveOffline(sid, func(st *api.SectorState) { st.AbortReason = reason })
	if err == nil {
		log.Infow("sector aborted", "sector", api.FormatSectorID(sid), "reason", reason)
	}
	return err
}
