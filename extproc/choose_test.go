package extproc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeChild is a child that looks up, with no process behind it: choose never calls it.
func fakeChild(index int, weight uint16, concurrent uint, locks ...string) *child {
	c := &child{
		stage:   testStage,
		index:   index,
		cfg:     Spec{Weight: weight, Locks: locks},
		cur:     &process{exited: make(chan struct{})},
		changed: make(chan struct{}),
	}
	if concurrent > 0 {
		c.slots = make(chan struct{}, concurrent)
	}
	return c
}

// fixedDraw always draws r, whatever the total weight.
func fixedDraw(r int) func(int) int { return func(int) int { return r } }

func producerOf(locks Locks, draw func(int) int, children ...*child) *Producer[testTask, testOut] {
	return &Producer[testTask, testOut]{stage: testStage, children: children, locks: locks, intn: draw}
}

func TestPickWeighted(t *testing.T) {
	children := []*child{fakeChild(0, 1, 0), fakeChild(1, 3, 0), fakeChild(2, 2, 0)}
	want := []int{0, 1, 1, 1, 2, 2}
	for r, w := range want {
		var total int
		got := pickWeighted(children, func(n int) int { total = n; return r })
		if total != 6 {
			t.Fatalf("drew among %d, want the total weight 6", total)
		}
		if got != w {
			t.Errorf("draw %d picked child %d, want %d", r, got, w)
		}
	}
}

func TestChoosePrefersChildThatCanStartNow(t *testing.T) {
	heavy, light := fakeChild(0, 1000, 1), fakeChild(1, 1, 0)
	heavy.slots <- struct{}{} // heavy is busy
	c, unlock, err := producerOf(nil, fixedDraw(0), heavy, light).choose(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if c != light {
		t.Fatalf("picked child %d, want the one with a free slot", c.index)
	}
}

func TestChooseSkipsLockedAndDownChildren(t *testing.T) {
	locks := newTestLocks(map[string]uint{"gpu": 1})
	held, _ := locks.TryAcquire("gpu")
	defer held()
	locked, down, free := fakeChild(0, 1000, 0, "gpu"), fakeChild(1, 1000, 0), fakeChild(2, 1, 0)
	down.cur = nil
	c, unlock, err := producerOf(locks, fixedDraw(0), locked, down, free).choose(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if c != free {
		t.Fatalf("picked child %d, want child 2, the only one that can start now", c.index)
	}
}

func TestChooseReleasesLocksOfChildrenNotPicked(t *testing.T) {
	locks := newTestLocks(map[string]uint{"l0": 1, "l1": 1})
	a, b := fakeChild(0, 1, 0, "l0"), fakeChild(1, 1, 0, "l1")
	c, unlock, err := producerOf(locks, fixedDraw(1), a, b).choose(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c != b {
		t.Fatalf("picked child %d, want 1", c.index)
	}
	if release, ok := locks.TryAcquire("l0"); !ok {
		t.Fatal("lock l0 of the child not picked is still held")
	} else {
		release()
	}
	if _, ok := locks.TryAcquire("l1"); ok {
		t.Fatal("lock l1 of the picked child is not held during the call")
	}
	unlock()
	if _, ok := locks.TryAcquire("l1"); !ok {
		t.Fatal("lock l1 not released after the call")
	}
}

func TestChooseWaitsForLocksWhenNoChildIsFree(t *testing.T) {
	locks := newTestLocks(map[string]uint{"gpu0": 1, "gpu1": 1})
	held0, _ := locks.TryAcquire("gpu0")
	defer held0()
	held1, _ := locks.TryAcquire("gpu1")
	a, b := fakeChild(0, 1, 0, "gpu0"), fakeChild(1, 1, 0, "gpu1")
	p := producerOf(locks, func(n int) int { return n - 1 }, a, b)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := p.choose(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `ext lock "gpu1"`) {
		t.Fatalf("err = %v, want a deadline while waiting for lock gpu1 of the child drawn by weight", err)
	}

	got := make(chan *child, 1)
	go func() {
		c, unlock, err := p.choose(context.Background())
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		unlock()
		got <- c
	}()
	held1()
	select {
	case c := <-got:
		if c != b {
			t.Fatalf("picked child %d, want child 1 whose lock was freed", c.index)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("choose still blocked after the lock was released")
	}
}
