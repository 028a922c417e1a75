package sealing

import (
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// noAllocationFor checks that the thread asks for no sector during d (many recover intervals).
func (r *testRig) noAllocationFor(d time.Duration, want int) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if n := r.fm.callCount("AllocateSector"); n != want {
			r.t.Fatalf("a drained thread called AllocateSector: %d calls, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openDrain(t *testing.T, r *testRig) *Drain {
	t.Helper()
	d, err := OpenDrain(r.loc.DB)
	if err != nil {
		t.Fatal(err)
	}
	r.env.Drain = d
	return d
}

// A drained thread finishes the sector it holds and takes no new one; the drain survives a
// restart, and an undrain lets the thread take sectors again without one.
func TestDrainFinishesTheSectorAndTakesNoNew(t *testing.T) {
	fm := newFakeManager(10)
	release := make(chan struct{})
	held := api.Seed{Seed: append(make([]byte, 31), 9), Epoch: 100}
	fm.waitSeed = func() (api.WaitSeedResp, error) {
		<-release
		return api.WaitSeedResp{Seed: &held}, nil
	}
	r := newRig(t, fm)
	drain := openDrain(t, r)
	if drain.On() {
		t.Fatal("a new location is drained")
	}
	r.start()
	r.waitFor("the thread to wait for its seed", func() bool { return fm.callCount("WaitSeed") > 0 })

	if changed, err := drain.Set(true); err != nil || !changed {
		t.Fatalf("Set(true) = %v, %v", changed, err)
	}
	if changed, err := drain.Set(true); err != nil || changed {
		t.Fatalf("second Set(true) = %v, %v; want no change", changed, err)
	}
	close(release)
	r.waitFor("the held sector to finish", func() bool { return fm.finalizedCount() == 1 })
	r.noAllocationFor(200*time.Millisecond, 1)
	if info := r.info(); info.State != "Empty" || info.SectorID != nil || info.Paused {
		t.Fatalf("a drained thread between sectors: %+v", info)
	}

	// The mark is in the location's metadb: a restarted worker is still drained.
	r.stop()
	r.open()
	drain = openDrain(t, r)
	if !drain.On() {
		t.Fatal("the drain was lost across a restart")
	}
	r.start()
	r.noAllocationFor(200*time.Millisecond, 1)

	if changed, err := drain.Set(false); err != nil || !changed {
		t.Fatalf("Set(false) = %v, %v", changed, err)
	}
	r.waitFor("the undrained thread to take a sector", func() bool { return fm.callCount("AllocateSector") > 1 })
	r.waitFor("the next sector to finish", func() bool { return fm.finalizedCount() >= 2 })

	r.stop()
	r.open()
	if openDrain(t, r).On() {
		t.Fatal("an undrain was lost across a restart")
	}
	r.loc.Close()
}

// Pool.SetDrained reports the change once saved and tells the daemon (which pings at once).
func TestPoolSetDrainedCallsBack(t *testing.T) {
	r := newRig(t, newFakeManager(0))
	p := &Pool{Threads: []*Thread{r.thread}, Drain: openDrain(t, r)}
	calls := 0
	p.DrainChanged = func() { calls++ }
	for _, step := range []struct {
		on, changed bool
		calls       int
	}{{true, true, 1}, {true, false, 1}, {false, true, 2}, {false, false, 2}} {
		changed, err := p.SetDrained(step.on)
		if err != nil || changed != step.changed || calls != step.calls || p.Drained() != step.on {
			t.Fatalf("SetDrained(%v) = %v, %v; callbacks %d, drained %v", step.on, changed, err, calls, p.Drained())
		}
	}
	if _, err := (&Pool{}).SetDrained(true); err == nil {
		t.Error("a pool without a drain switch accepted a drain")
	}
	r.loc.Close()
}
