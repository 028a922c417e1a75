package limit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
)

// limiter is sealing.Limiter, restated so the test fails to compile if Pool stops satisfying it
// (this package must not import worker/sealing).
type limiter interface {
	Acquire(ctx context.Context, stage string) (release func(), err error)
}

var _ limiter = (*Pool)(nil)

// runHolders runs n goroutines that each hold a token of name for hold, and returns the most
// holders seen at once.
func runHolders(t *testing.T, p *Pool, name string, n int, hold time.Duration) int {
	t.Helper()
	var inFlight, maxInFlight atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := p.Acquire(context.Background(), name)
			if err != nil {
				t.Errorf("acquire %s: %v", name, err)
				return
			}
			defer release()
			cur := inFlight.Add(1)
			for {
				old := maxInFlight.Load()
				if cur <= old || maxInFlight.CompareAndSwap(old, cur) {
					break
				}
			}
			time.Sleep(hold)
			inFlight.Add(-1)
		}()
	}
	wg.Wait()
	return int(maxInFlight.Load())
}

func TestConcurrentCapsHolders(t *testing.T) {
	p := NewPool(map[string]uint{"pc1": 2}, nil)
	if got := runHolders(t, p, "pc1", 8, 30*time.Millisecond); got != 2 {
		t.Fatalf("pc1 = 2: saw %d holders at once, want exactly 2", got)
	}
}

func TestUnknownNameIsUnlimited(t *testing.T) {
	p := NewPool(map[string]uint{"pc1": 1}, nil)
	if got := runHolders(t, p, "c2", 6, 50*time.Millisecond); got < 2 {
		t.Fatalf("c2 has no limit: saw at most %d holders at once, want several", got)
	}
	var nilPool *Pool
	release, err := nilPool.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatalf("nil pool: %v", err)
	}
	release()
}

func TestFromConfig(t *testing.T) {
	p := NewStagePool(config.Limitation{
		Concurrent: map[string]uint{"pc2": 1},
		Staggered:  map[string]time.Duration{"pc1": time.Minute},
	})
	first, ok := p.TryAcquire("pc2")
	if !ok {
		t.Fatal("first pc2 token refused")
	}
	if _, ok := p.TryAcquire("pc2"); ok {
		t.Fatal("pc2 = 1: second token granted while the first is held")
	}
	first()
	if _, ok := p.TryAcquire("pc1"); !ok {
		t.Fatal("first pc1 start refused")
	}
	if _, ok := p.TryAcquire("pc1"); ok {
		t.Fatal("pc1 staggered 1min: second start granted at once")
	}
	locks := NewLocks(map[string]uint{"gpu": 1})
	if _, ok := locks.TryAcquire("gpu"); !ok {
		t.Fatal("gpu lock refused")
	}
	if _, ok := locks.TryAcquire("gpu"); ok {
		t.Fatal("gpu = 1: lock granted twice")
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	p := NewPool(map[string]uint{"c2": 1}, nil)
	release, _ := p.Acquire(context.Background(), "c2")
	release()
	release()
	a, ok := p.TryAcquire("c2")
	if !ok {
		t.Fatal("token not back after release")
	}
	if _, ok := p.TryAcquire("c2"); ok {
		t.Fatal("double release gave back two tokens")
	}
	a()
}

func TestStaggeredTimerSpacesStarts(t *testing.T) {
	const every = MinStaggered
	p := NewPool(nil, map[string]time.Duration{"pc1": every})
	var mu sync.Mutex
	var starts []time.Time
	var releases []func()
	var wg sync.WaitGroup
	begin := time.Now()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := p.Acquire(context.Background(), "pc1")
			if err != nil {
				t.Errorf("acquire: %v", err)
				return
			}
			mu.Lock()
			starts = append(starts, time.Now())
			releases = append(releases, release) // held: only the timer may reopen the gate
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, r := range releases {
		r()
	}
	if got := starts[0].Sub(begin); got > every/2 {
		t.Errorf("first start waited %s: the gate starts open", got)
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < every-50*time.Millisecond {
			t.Errorf("start %d came %s after the previous one, want at least %s", i, gap, every)
		}
	}
}

func TestStaggeredReopensWhenTaskFinishes(t *testing.T) {
	p := NewPool(nil, map[string]time.Duration{"pc1": time.Hour})
	release, err := p.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.TryAcquire("pc1"); ok {
		t.Fatal("gate still open right after a start")
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	second, err := p.Acquire(ctx, "pc1")
	if err != nil {
		t.Fatalf("a finished task must reopen the gate at once: %v", err)
	}
	second()
}

func TestConcurrencyTokenBeforeGate(t *testing.T) {
	p := NewPool(map[string]uint{"pc1": 1}, map[string]time.Duration{"pc1": time.Hour})
	release, _ := p.Acquire(context.Background(), "pc1")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, "pc1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked on the cap: got %v, want deadline exceeded", err)
	}
	release() // frees the slot and reopens the gate
	next, err := p.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	next()
}

func TestGateCancelGivesSlotBack(t *testing.T) {
	p := NewPool(map[string]uint{"pc1": 2}, map[string]time.Duration{"pc1": time.Hour})
	held, _ := p.Acquire(context.Background(), "pc1") // closes the gate, takes one slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, "pc1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked on the gate: got %v, want deadline exceeded", err)
	}
	held()
	// Both slots must be free again: the cancelled caller gave its slot back.
	a, err := p.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	a() // reopens the gate
	b, ok := p.TryAcquire("pc1")
	if !ok {
		t.Fatal("slot leaked by a caller cancelled at the gate")
	}
	b()
}

func TestCancelWhileBlockedOnCap(t *testing.T) {
	p := NewPool(map[string]uint{"c2": 1}, nil)
	held, _ := p.Acquire(context.Background(), "c2")
	defer held()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Acquire(ctx, "c2")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire ignored ctx cancellation")
	}
}

func TestShortStaggerIgnored(t *testing.T) {
	p := NewPool(nil, map[string]time.Duration{"pc1": 500 * time.Millisecond})
	for i := range 3 {
		if _, ok := p.TryAcquire("pc1"); !ok {
			t.Fatalf("start %d refused: a stagger under 1s must be ignored", i)
		}
	}
}

// Every Acquire of a limited name tells the observer how long it waited on the cap, then on the
// gate; the ext_locks pool names its cap waits ext_locks.
func TestWaitsAreObserved(t *testing.T) {
	type wait struct {
		kind, name string
		took       time.Duration
	}
	var mu sync.Mutex
	var waits []wait
	observe := func(kind, name string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, wait{kind, name, took})
	}
	p := NewPool(map[string]uint{"pc1": 1}, map[string]time.Duration{"pc1": time.Second})
	p.ObserveWaits(observe)
	release, err := p.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		release()
	}()
	release2, err := p.Acquire(context.Background(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	release2()
	if _, err := p.Acquire(context.Background(), "unlimited"); err != nil {
		t.Fatal(err)
	}
	locks := NewLocks(map[string]uint{"gpu": 1})
	locks.ObserveWaits(observe)
	if r, err := locks.Acquire(context.Background(), "gpu"); err != nil {
		t.Fatal(err)
	} else {
		r()
	}

	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, w := range waits {
		kinds = append(kinds, w.kind+"/"+w.name)
	}
	want := []string{"concurrent/pc1", "staggered/pc1", "concurrent/pc1", "staggered/pc1", "ext_locks/gpu"}
	if len(kinds) != len(want) {
		t.Fatalf("waits = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("waits = %v, want %v", kinds, want)
		}
	}
	if waits[2].took < 40*time.Millisecond {
		t.Errorf("the second pc1 waited %s on the cap, held 50ms by the first", waits[2].took)
	}
	if n := p.Names(); len(n["concurrent"]) != 1 || len(n["staggered"]) != 1 || locks.Names()["ext_locks"][0] != "gpu" {
		t.Errorf("names = %v and %v", n, locks.Names())
	}
}
