package api

import (
	"context"
	"net/http"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
)

// WorkerAdminAPI is the VenusWorker namespace a worker serves on rpc_server.host:port
// (spec/worker.md §8). Parameters are positional; WorkerResume's setTo may be null or omitted.
type WorkerAdminAPI interface {
	WorkerList(ctx context.Context) ([]WorkerThreadInfo, error)
	WorkerPause(ctx context.Context, index uint64) (bool, error)
	WorkerResume(ctx context.Context, index uint64, setTo *string) (bool, error)
	WorkerSetEnv(ctx context.Context, name string, value string) error
	WorkerRemoveEnv(ctx context.Context, name string) error
	// WorkerDrain turns the worker's drain on or off (an addition of ours): a drained worker's
	// threads finish the sector they hold and take no new one. It reports whether that changed
	// anything, once the change is saved.
	WorkerDrain(ctx context.Context, drained bool) (bool, error)
	// WorkerProgress says where each thread stands in its state (an addition of ours): since
	// when, and the bytes done of a long step (tree_d, transfer).
	WorkerProgress(ctx context.Context) ([]ThreadProgress, error)
}

// ThreadProgress is one thread in WorkerProgress. StateEnteredAt is when the thread entered its
// state, or took its job up again after a restart. Step and BytesTotal are set while a long step
// runs; BytesDone stays null when the step does not count its bytes (an external processor).
type ThreadProgress struct {
	Index          int        `json:"index"`
	State          string     `json:"state"`
	StateEnteredAt *time.Time `json:"state_entered_at"`
	Step           *string    `json:"step"`
	BytesDone      *int64     `json:"bytes_done"`
	BytesTotal     *int64     `json:"bytes_total"`
}

// WorkerAdminClient is a go-jsonrpc client of WorkerAdminAPI. The perm tag of a field is the
// permission its method needs on a worker that has a token (WorkerAdminPerm).
type WorkerAdminClient struct {
	WorkerList      func(ctx context.Context) ([]WorkerThreadInfo, error)                `perm:"read"`
	WorkerPause     func(ctx context.Context, index uint64) (bool, error)                `perm:"admin"`
	WorkerResume    func(ctx context.Context, index uint64, setTo *string) (bool, error) `perm:"admin"`
	WorkerSetEnv    func(ctx context.Context, name string, value string) error           `perm:"admin"`
	WorkerRemoveEnv func(ctx context.Context, name string) error                         `perm:"admin"`
	WorkerDrain     func(ctx context.Context, drained bool) (bool, error)                `perm:"admin"`
	WorkerProgress  func(ctx context.Context) ([]ThreadProgress, error)                  `perm:"read"`
}

// NewWorkerAdminClient talks to a worker's admin API at http://<dest>/, as the original manager does.
func NewWorkerAdminClient(ctx context.Context, dest string, header http.Header) (*WorkerAdminClient, jsonrpc.ClientCloser, error) {
	var c WorkerAdminClient
	closer, err := jsonrpc.NewMergeClient(ctx, "http://"+dest+"/", WorkerNamespace, []interface{}{&c}, header,
		jsonrpc.WithHTTPClient(&http.Client{Timeout: CallTimeout}), jsonrpc.WithTimeout(CallTimeout))
	if err != nil {
		return nil, nil, err
	}
	return &c, closer, nil
}
