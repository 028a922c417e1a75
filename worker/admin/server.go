// Package admin serves a worker's VenusWorker JSON-RPC API (spec/worker.md §8): list, pause and
// resume sealing threads, and set the environment of processes the worker spawns later.
package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// MaxRequestSize caps request bodies; admin calls are tiny.
const MaxRequestSize = 1 << 20

// Threads is what the admin API manages.
type Threads interface {
	List() []api.WorkerThreadInfo
	Pause(index uint64) (bool, error)
	Resume(index uint64, setTo *string) (bool, error)
	SetDrained(on bool) (bool, error)
	Progress() []api.ThreadProgress
}

type handler struct {
	threads Threads
}

// NewHandler serves VenusWorker on every path (the original manager posts to http://<dest>/),
// open to every caller: a worker without a token. Browsers are kept out (api.BrowserGuard).
func NewHandler(threads Threads) http.Handler {
	return NewHandlerWithAuth(threads, nil)
}

// NewHandlerWithAuth serves VenusWorker to the callers whose token verify accepts (a worker with
// a token; verify nil: open): WorkerList needs read, the others admin (api.WorkerAdminPerm). The
// manager's worker-admin credential, which its proxy sends for util worker, may call them all.
func NewHandlerWithAuth(threads Threads, verify func(ctx context.Context, token string) ([]api.Permission, error)) http.Handler {
	rpc := jsonrpc.NewServer(jsonrpc.WithMaxRequestSize(MaxRequestSize))
	rpc.Register(api.WorkerNamespace, &handler{threads: threads})
	if verify != nil {
		verify = api.WorkerAdminPerms(verify)
	}
	return &api.BrowserGuard{Next: &api.AuthHandler{Verify: verify, Next: rpc}}
}

func checkPerm(ctx context.Context, method string) error {
	return api.CheckPerm(ctx, method, api.WorkerAdminPerm(method))
}

func (h *handler) WorkerList(ctx context.Context) ([]api.WorkerThreadInfo, error) {
	if err := checkPerm(ctx, "WorkerList"); err != nil {
		return nil, err
	}
	return h.threads.List(), nil
}

func (h *handler) WorkerPause(ctx context.Context, index uint64) (bool, error) {
	if err := checkPerm(ctx, "WorkerPause"); err != nil {
		return false, err
	}
	return h.threads.Pause(index)
}

// WorkerResume takes [index] or [index, state|null]: the original accepts the trailing parameter
// omitted, which a fixed Go signature cannot.
func (h *handler) WorkerResume(ctx context.Context, params jsonrpc.RawParams) (bool, error) {
	if err := checkPerm(ctx, "WorkerResume"); err != nil {
		return false, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(params, &raw); err != nil || len(raw) < 1 || len(raw) > 2 {
		return false, api.InvalidParams("WorkerResume takes [index, state|null]")
	}
	var index uint64
	if err := json.Unmarshal(raw[0], &index); err != nil {
		return false, api.InvalidParams("invalid thread index %s: want a non-negative integer", string(raw[0]))
	}
	var setTo *string
	if len(raw) == 2 {
		if err := json.Unmarshal(raw[1], &setTo); err != nil {
			return false, api.InvalidParams("invalid state %s: want a state name or null", string(raw[1]))
		}
	}
	return h.threads.Resume(index, setTo)
}

func (h *handler) WorkerSetEnv(ctx context.Context, name, value string) error {
	if err := checkPerm(ctx, "WorkerSetEnv"); err != nil {
		return err
	}
	if !validEnvName(name) || strings.ContainsRune(value, 0) {
		return api.InvalidParams("invalid environment variable name or value")
	}
	if err := os.Setenv(name, value); err != nil {
		return api.InvalidParams("invalid environment variable name or value")
	}
	return nil
}

func (h *handler) WorkerRemoveEnv(ctx context.Context, name string) error {
	if err := checkPerm(ctx, "WorkerRemoveEnv"); err != nil {
		return err
	}
	if !validEnvName(name) {
		return api.InvalidParams("invalid environment variable name")
	}
	return os.Unsetenv(name)
}

func (h *handler) WorkerProgress(ctx context.Context) ([]api.ThreadProgress, error) {
	if err := checkPerm(ctx, "WorkerProgress"); err != nil {
		return nil, err
	}
	return h.threads.Progress(), nil
}

func (h *handler) WorkerDrain(ctx context.Context, drained bool) (bool, error) {
	if err := checkPerm(ctx, "WorkerDrain"); err != nil {
		return false, err
	}
	return h.threads.SetDrained(drained)
}

func validEnvName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}
