package sealing

import (
	"context"
	"sync"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// reportQueue bounds how many state reports a thread may have in flight before it waits for the
// manager: enough for every transition of a sector.
const reportQueue = 32

// reporter sends one thread's state reports to the manager in the order they were made, off the
// thread's path: a report only follows a state change that is already durable (job.apply
// persists first), its errors are only logged, and the thread need not wait for the round trip
// before its next step. flush waits until everything queued is sent; a thread flushes before
// any call that must come after its reports (ReportFinalized, ReportAborted) and before it
// pauses, so what the manager shows is never behind a paused or finished thread.
type reporter struct {
	rpc     *api.ManagerClient
	queue   chan reportTask
	pending sync.WaitGroup
	done    chan struct{}
}

type reportTask struct {
	id  abi.SectorID
	req api.ReportStateReq
	log *zap.SugaredLogger
}

func newReporter(rpc *api.ManagerClient) *reporter {
	r := &reporter{rpc: rpc, queue: make(chan reportTask, reportQueue), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *reporter) run() {
	defer close(r.done)
	for t := range r.queue {
		ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
		if err := r.rpc.ReportState(ctx, t.id, t.req); err != nil {
			t.log.Warnw("report state", "err", err)
		}
		cancel()
		r.pending.Done()
	}
}

// send queues a report; it blocks only when reportQueue reports are already waiting. Only the
// thread that owns the reporter calls send, flush and close.
func (r *reporter) send(id abi.SectorID, req api.ReportStateReq, log *zap.SugaredLogger) {
	r.pending.Add(1)
	r.queue <- reportTask{id: id, req: req, log: log}
}

// flush returns once every queued report has been sent (or has failed).
func (r *reporter) flush() { r.pending.Wait() }

// close sends what is queued and stops the reporter.
func (r *reporter) close() {
	close(r.queue)
	<-r.done
}

// flushReports waits until the thread's queued reports are sent.
func (t *Thread) flushReports() {
	if t.rep != nil {
		t.rep.flush()
	}
}
