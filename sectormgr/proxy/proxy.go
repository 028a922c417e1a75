// Package proxy makes the manager's calls to a worker's admin API (VenusWorker at
// http://<dest>/) on behalf of an operator, so `util worker info/pause/resume` need to reach only
// the manager. A worker is named by its registered name and reached at the Dest it registered;
// unlike the original (spec/sector-manager.md §1.5), an address is not accepted.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// DefaultTimeout bounds one proxied call. It is shorter than the CLI's own call timeout, so an
// operator sees the proxy's error naming the worker rather than a timeout of the manager.
const DefaultTimeout = 30 * time.Second

// Registry finds a registered worker by name; nil means the name is not registered.
type Registry interface {
	Get(name string) (*api.WorkerPingInfo, error)
}

// Proxy resolves workers and forwards admin calls to them.
type Proxy struct {
	workers Registry
	timeout time.Duration
	token   string
}

// New returns a proxy that resolves names through workers.
func New(workers Registry) *Proxy {
	return &Proxy{workers: workers, timeout: DefaultTimeout}
}

// WithTimeout returns a copy of p whose calls give up after d.
func (p *Proxy) WithTimeout(d time.Duration) *Proxy {
	cp := *p
	cp.timeout = d
	return &cp
}

// WithToken returns a copy of p that sends token (Authorization: Bearer) with every call: the
// manager's worker-admin credential (api.PermWorkerAdmin), which a worker with auth has the
// manager verify, and which the manager's own api refuses. Never the manager's admin token: a
// worker host could replay that against the whole cluster.
func (p *Proxy) WithToken(token string) *Proxy {
	cp := *p
	cp.token = token
	return &cp
}

// ResolveDest is the host:port of a registered worker's admin API: the Dest of its latest ping.
// Only registered names resolve: an address, or a name that never pinged, is refused, so a
// caller can neither have the manager call an address of its choosing nor use it to probe ports.
func (p *Proxy) ResolveDest(worker string) (string, error) {
	info, err := p.workers.Get(worker)
	if err != nil {
		return "", fmt.Errorf("resolve worker dest: %w", err)
	}
	if info == nil {
		return "", notRegistered(worker)
	}
	return info.Info.Dest, nil
}

func notRegistered(worker string) error {
	what := "no worker named %q has pinged this manager"
	if looksLikeAddress(worker) {
		what = "%q is an address, and the manager calls registered workers only, by name"
	}
	return fmt.Errorf("resolve worker dest: "+what+": the worker must ping first (start it; its name is in util worker list after its first ping)", worker)
}

func looksLikeAddress(s string) bool {
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	_, port, err := net.SplitHostPort(s)
	return err == nil && port != ""
}

// call resolves worker and runs fn with a client of its admin API. Errors name the worker and the
// address tried; a JSON-RPC error of the worker keeps its code and message.
func call[T any](ctx context.Context, p *Proxy, worker, method string, fn func(ctx context.Context, c *api.WorkerAdminClient) (T, error)) (T, error) {
	var zero T
	dest, err := p.ResolveDest(worker)
	if err != nil {
		return zero, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	client, closer, err := api.NewWorkerAdminClient(ctx, dest, api.AuthHeader(p.token))
	if err != nil {
		return zero, fmt.Errorf("worker %q at %s: %w", worker, dest, err)
	}
	defer closer()

	out, err := fn(ctx, client)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return zero, fmt.Errorf("worker %q at %s did not answer %s within %s", worker, dest, method, p.timeout)
	}
	if err != nil {
		return zero, workerError(worker, dest, method, err)
	}
	return out, nil
}

// workerError explains a failed call: the worker answered with an error (its code is kept, so
// invalid params stay invalid params), or it could not be reached.
func workerError(worker, dest, method string, err error) error {
	var rpcErr *jsonrpc.JSONRPCError
	if errors.As(err, &rpcErr) {
		return &api.CodedError{Code: int(rpcErr.Code), Message: fmt.Sprintf("worker %q at %s: %s", worker, dest, rpcErr.Message)}
	}
	var coded *api.CodedError
	if errors.As(err, &coded) {
		return &api.CodedError{Code: coded.Code, Message: fmt.Sprintf("worker %q at %s: %s", worker, dest, coded.Message)}
	}
	var connErr *jsonrpc.RPCConnectionError
	if errors.As(err, &connErr) {
		cause := connErr.Unwrap()
		// url.Error repeats the method and URL; the dest is named already.
		var urlErr *url.Error
		if errors.As(cause, &urlErr) {
			cause = urlErr.Err
		}
		return fmt.Errorf("worker %q at %s is unreachable (is it running, with its admin api on that address?): %w", worker, dest, cause)
	}
	return fmt.Errorf("worker %q at %s: %s: %w", worker, dest, method, err)
}

// List returns the worker's sealing threads.
func (p *Proxy) List(ctx context.Context, worker string) ([]api.WorkerThreadInfo, error) {
	return call(ctx, p, worker, "WorkerList", func(ctx context.Context, c *api.WorkerAdminClient) ([]api.WorkerThreadInfo, error) {
		return c.WorkerList(ctx)
	})
}

// Pause asks the worker to pause thread index; false means a pause is already pending.
func (p *Proxy) Pause(ctx context.Context, worker string, index uint64) (bool, error) {
	return call(ctx, p, worker, "WorkerPause", func(ctx context.Context, c *api.WorkerAdminClient) (bool, error) {
		return c.WorkerPause(ctx, index)
	})
}

// Resume asks the worker to resume thread index, in state setTo if it is not nil.
func (p *Proxy) Resume(ctx context.Context, worker string, index uint64, setTo *string) (bool, error) {
	return call(ctx, p, worker, "WorkerResume", func(ctx context.Context, c *api.WorkerAdminClient) (bool, error) {
		return c.WorkerResume(ctx, index, setTo)
	})
}

// Progress returns where each of the worker's threads stands in its state.
func (p *Proxy) Progress(ctx context.Context, worker string) ([]api.ThreadProgress, error) {
	return call(ctx, p, worker, "WorkerProgress", func(ctx context.Context, c *api.WorkerAdminClient) ([]api.ThreadProgress, error) {
		return c.WorkerProgress(ctx)
	})
}

// Drain turns the worker's drain on or off; false means it already was.
func (p *Proxy) Drain(ctx context.Context, worker string, drained bool) (bool, error) {
	return call(ctx, p, worker, "WorkerDrain", func(ctx context.Context, c *api.WorkerAdminClient) (bool, error) {
		return c.WorkerDrain(ctx, drained)
	})
}
