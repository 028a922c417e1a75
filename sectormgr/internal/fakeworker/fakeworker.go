// Package fakeworker serves a worker's admin API (VenusWorker over go-jsonrpc at http://<addr>/)
// backed by a list of threads in memory, for the manager's tests.
package fakeworker

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// States are the states WorkerResume accepts, as a worker's sealer plan does.
var States = []string{"Empty", "Allocated", "DealsAcquired", "PieceAdded", "TreeDBuilt", "TicketAssigned",
	"PC1Done", "PC2Done", "PCSubmitted", "PCLanded", "Persisted", "PersistanceSubmitted", "SeedAssigned",
	"C1Done", "C2Done", "ProofSubmitted", "Finished", "Aborted"}

// Worker is the fake admin API. Its threads can be read and changed by tests.
type Worker struct {
	mu      sync.Mutex
	threads []api.WorkerThreadInfo
	calls   []string
	drained bool
	// Block, if not nil, is waited on by every call: a worker that hangs.
	Block chan struct{}
}

// StartedAt is when every fake worker's threads entered their states (WorkerProgress), fixed so
// that tests can pin the documents that show it.
var StartedAt = time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)

var _ api.WorkerAdminAPI = (*Worker)(nil)

// Start serves a fake worker with threads on 127.0.0.1 until the test ends and returns it with
// its address (host:port).
func Start(t testing.TB, threads ...api.WorkerThreadInfo) (*Worker, string) {
	t.Helper()
	w := &Worker{threads: threads}
	rpc := jsonrpc.NewServer()
	rpc.Register(api.WorkerNamespace, w)
	srv := httptest.NewServer(rpc)
	t.Cleanup(srv.Close)
	return w, strings.TrimPrefix(srv.URL, "http://")
}

// Calls lists the calls received, e.g. "WorkerPause 0".
func (w *Worker) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// Threads returns the current threads.
func (w *Worker) Threads() []api.WorkerThreadInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.threads)
}

func (w *Worker) record(ctx context.Context, call string) {
	if w.Block != nil {
		select {
		case <-w.Block:
		case <-ctx.Done():
		}
	}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	w.mu.Unlock()
}

func (w *Worker) WorkerList(ctx context.Context) ([]api.WorkerThreadInfo, error) {
	w.record(ctx, "WorkerList")
	return w.Threads(), nil
}

func (w *Worker) WorkerPause(ctx context.Context, index uint64) (bool, error) {
	w.record(ctx, "WorkerPause "+itoa(index))
	w.mu.Lock()
	defer w.mu.Unlock()
	if index >= uint64(len(w.threads)) {
		return false, api.InvalidParams("worker #%d not found", index)
	}
	t := &w.threads[index]
	if t.Paused {
		return false, nil
	}
	t.Paused = true
	zero := uint64(0)
	t.PausedElapsed = &zero
	return true, nil
}

func (w *Worker) WorkerResume(ctx context.Context, index uint64, setTo *string) (bool, error) {
	state := "null"
	if setTo != nil {
		state = *setTo
	}
	w.record(ctx, "WorkerResume "+itoa(index)+" "+state)
	w.mu.Lock()
	defer w.mu.Unlock()
	if index >= uint64(len(w.threads)) {
		return false, api.InvalidParams("worker #%d not found", index)
	}
	if setTo != nil && !slices.Contains(States, *setTo) {
		return false, api.InvalidParams("invalid state %s", *setTo)
	}
	t := &w.threads[index]
	if !t.Paused {
		return false, nil
	}
	t.Paused, t.PausedElapsed, t.LastError = false, nil, nil
	if setTo != nil {
		t.State = *setTo
	}
	return true, nil
}

func (w *Worker) WorkerSetEnv(context.Context, string, string) error { return nil }
func (w *Worker) WorkerRemoveEnv(context.Context, string) error      { return nil }

func (w *Worker) WorkerDrain(ctx context.Context, drained bool) (bool, error) {
	w.record(ctx, "WorkerDrain "+strconv.FormatBool(drained))
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := w.drained != drained
	w.drained = drained
	return changed, nil
}

// WorkerProgress reports each thread in its state since the worker started, with no step.
func (w *Worker) WorkerProgress(ctx context.Context) ([]api.ThreadProgress, error) {
	w.record(ctx, "WorkerProgress")
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]api.ThreadProgress, len(w.threads))
	for i, t := range w.threads {
		at := StartedAt
		out[i] = api.ThreadProgress{Index: t.Index, State: t.State, StateEnteredAt: &at}
	}
	return out, nil
}

// Drained tells whether the last WorkerDrain turned the drain on.
func (w *Worker) Drained() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.drained
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
