package sealing

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Reports leave in the order they were queued, send does not wait for the manager, and flush and
// close return only once every queued report has been answered.
func TestReporterKeepsOrderAndFlushWaits(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []string
	rpc := &api.ManagerClient{ReportState: func(_ context.Context, _ abi.SectorID, req api.ReportStateReq) error {
		<-gate
		mu.Lock()
		got = append(got, req.StateChange.Next)
		mu.Unlock()
		return nil
	}}
	r := newReporter(rpc)
	log := zap.NewNop().Sugar()
	for _, next := range []string{"Allocated", "DealsAcquired", "PieceAdded"} {
		r.send(sector(1), api.ReportStateReq{StateChange: api.SectorStateChange{Next: next}}, log)
	}
	// All three are queued while the manager has answered none.
	flushed := make(chan struct{})
	go func() { r.flush(); close(flushed) }()
	select {
	case <-flushed:
		t.Fatal("flush returned before the manager answered")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	<-flushed
	mu.Lock()
	if want := "Allocated DealsAcquired PieceAdded"; join(got) != want {
		t.Errorf("reports sent as %q, want %q", join(got), want)
	}
	mu.Unlock()

	r.send(sector(1), api.ReportStateReq{StateChange: api.SectorStateChange{Next: "TreeDBuilt"}}, log)
	r.close()
	if len(got) != 4 || got[3] != "TreeDBuilt" {
		t.Errorf("after close: %v, want the queued report sent", got)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// A thread waiting for its first sector has persisted nothing: an Empty job is what no record
// means, so writing one would cost an fsync per sector for nothing.
func TestNewJobIsNotPersistedBeforeAllocation(t *testing.T) {
	fm := newFakeManager(0)
	r := newRig(t, fm)
	r.start()
	r.waitFor("an allocation asked", func() bool { return fm.callCount("AllocateSector") >= 1 })
	if _, ok, err := loadRecord(r.loc.DB); ok || err != nil {
		t.Fatalf("record present (%v, %v) before any sector was allocated", ok, err)
	}
}
