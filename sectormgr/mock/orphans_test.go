package mock

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// A sector no worker calls about after its allocation (its worker died before saving the job)
// is aborted once it has been an orphan for the timeout; sectors a worker reported, or took a
// ticket for, are left alone however long they wait.
func TestOrphansAreAbortedAfterTheTimeout(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	m, err := New(testMiner, testSize, WithClock(clock), WithOrphanTimeout(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	reported, ticketed, orphan := allocate(t, m).ID, allocate(t, m).ID, allocate(t, m).ID
	if err := m.ReportState(ctx, reported, api.ReportStateReq{StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AssignTicket(ctx, ticketed); err != nil {
		t.Fatal(err)
	}
	// The reaper sweeps every second (a quarter of the timeout); the clock moves 5 s between
	// looks, so whichever sweep first saw the orphan, a later one finds it past the timeout.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, online, found := m.Sector(orphan); found && !online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphan sector was not aborted within 20s")
		}
		mu.Lock()
		now = now.Add(5 * time.Second)
		mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
	st, _, _ := m.Sector(orphan)
	want := "orphan: no worker called about this sector within 4s of its allocation (released by the manager)"
	if st.AbortReason != want || !st.Finalized {
		t.Errorf("orphan's offline state: reason %q, finalized %v; want %q", st.AbortReason, st.Finalized, want)
	}
	for _, id := range []abi.SectorID{reported, ticketed} {
		if _, online, found := m.Sector(id); !found || !online {
			t.Errorf("sector %s, which a worker called about, is no longer online", api.FormatSectorID(id))
		}
	}
}

// Without the option (the tests' default) nothing is ever released.
func TestOrphansAreKeptWithoutATimeout(t *testing.T) {
	m := newMock(t)
	defer m.Close()
	id := allocate(t, m).ID
	time.Sleep(1100 * time.Millisecond)
	if _, online, _ := m.Sector(id); !online {
		t.Fatal("an orphan was released without --orphan-timeout")
	}
}
