package mock

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// WorkerPing records a worker's latest ping under its name, stamped with the mock's clock.
func (m *Mock) WorkerPing(ctx context.Context, winfo api.WorkerInfo) error {
	log.Debugw("WorkerPing", "name", winfo.Name, "dest", winfo.Dest, "summary", winfo.Summary)
	if winfo.Name == "" {
		return errors.New("worker name is required")
	}
	if winfo.Dest == "" {
		return errors.New("worker dest is required")
	}
	m.workersMu.Lock()
	m.workers[winfo.Name] = api.WorkerPingInfo{Info: winfo, LastPing: time.Now().Unix()}
	m.workersMu.Unlock()
	return nil
}

// WorkerGetPingInfo returns null for a worker that never pinged.
func (m *Mock) WorkerGetPingInfo(ctx context.Context, name string) (*api.WorkerPingInfo, error) {
	log.Debugw("WorkerGetPingInfo", "name", name)
	m.workersMu.Lock()
	defer m.workersMu.Unlock()
	info, ok := m.workers[name]
	if !ok {
		return nil, nil
	}
	return &info, nil
}

// WorkerPingInfoList lists the registry in name order, the order of the original's store.
func (m *Mock) WorkerPingInfoList(ctx context.Context) ([]api.WorkerPingInfo, error) {
	log.Debugw("WorkerPingInfoList")
	m.workersMu.Lock()
	out := make([]api.WorkerPingInfo, 0, len(m.workers))
	for _, info := range m.workers {
		out = append(out, info)
	}
	m.workersMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Name < out[j].Info.Name })
	return out, nil
}
