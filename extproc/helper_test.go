package extproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// childModeEnv makes the test binary act as an external processor instead of running tests.
const childModeEnv = "EXT_TEST_CHILD_MODE"

const testStage = "test"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// runChild is the body of a child process:
//   - serve: the real consumer (Serve) with testImpl;
//   - raw: a hand-written child that can answer what Serve never would;
//   - silent: never gets ready; wrong: prints a wrong first line.
func runChild(mode string) int {
	switch mode {
	case "serve":
		err := Serve[testTask, testOut](testStage, testFunc(testImpl), os.Stdin, os.Stdout)
		fmt.Fprintln(os.Stderr, "consumer:", err)
		return 1
	case "raw":
		return rawChild()
	case "silent":
		time.Sleep(time.Hour)
	case "wrong":
		fmt.Println("hello there")
		time.Sleep(time.Hour)
	}
	return 2
}

type testTask struct {
	Op      string `json:"op"`
	Key     string `json:"key,omitempty"`
	SleepMS int    `json:"sleep_ms,omitempty"`
	Dir     string `json:"dir,omitempty"`
}

type testOut struct {
	Text        string `json:"text"`
	PID         int    `json:"pid"`
	MaxInFlight int64  `json:"max_in_flight,omitempty"`
}

var (
	waitersMu   sync.Mutex
	waiters     = map[string]chan struct{}{}
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
)

func waiter(key string) chan struct{} {
	waitersMu.Lock()
	defer waitersMu.Unlock()
	ch, ok := waiters[key]
	if !ok {
		ch = make(chan struct{})
		waiters[key] = ch
	}
	return ch
}

func testImpl(ctx context.Context, t testTask) (testOut, error) {
	out := testOut{PID: os.Getpid()}
	switch t.Op {
	case "echo":
		out.Text = t.Key
	case "fail":
		return out, errors.New("boom: " + t.Key)
	case "wait":
		<-waiter(t.Key)
		out.Text = "waited " + t.Key
	case "signal":
		close(waiter(t.Key))
		out.Text = "signalled"
	case "block":
		if err := os.WriteFile(filepath.Join(t.Dir, "block-started"), nil, 0o644); err != nil {
			return out, err
		}
		<-ctx.Done()
	case "busy":
		cur := inFlight.Add(1)
		for old := maxInFlight.Load(); cur > old && !maxInFlight.CompareAndSwap(old, cur); old = maxInFlight.Load() {
		}
		time.Sleep(time.Duration(t.SleepMS) * time.Millisecond)
		inFlight.Add(-1)
		out.MaxInFlight = maxInFlight.Load()
	case "exclusive":
		marker := filepath.Join(t.Dir, "busy")
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return out, fmt.Errorf("overlap: another child holds the lock: %w", err)
		}
		f.Close()
		time.Sleep(time.Duration(t.SleepMS) * time.Millisecond)
		os.Remove(marker)
	case "env":
		out.Text = os.Getenv(t.Key)
	case "args":
		out.Text = strings.Join(os.Args[1:], " ")
	default:
		return out, fmt.Errorf("unknown op %q", t.Op)
	}
	return out, nil
}

// rawChild answers by hand: garbage lines, lost outputs, and the raw request it received.
func rawChild() int {
	fmt.Println(ReadyLine(testStage))
	r := bufio.NewReader(os.Stdin)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return 1
		}
		var req struct {
			ID   uint64   `json:"id"`
			Task testTask `json:"task"`
		}
		if json.Unmarshal(line, &req) != nil {
			return 3
		}
		switch req.Task.Op {
		case "garbage":
			fmt.Println("this is not json at all")
			fmt.Printf(`{"id":%d,"err_msg":null,"output":{"text":"after garbage","pid":%d}}`+"\n", req.ID, os.Getpid())
		case "lost":
			fmt.Printf(`{"id":%d,"err_msg":null,"output":null}`+"\n", req.ID)
		case "request":
			text, _ := json.Marshal(strings.TrimSuffix(string(line), "\n"))
			fmt.Printf(`{"id":%d,"output":{"text":%s,"pid":0}}`+"\n", req.ID, text)
		}
	}
}

// entry is a [[processors.test]] table spawning this test binary in the given mode, with the
// config defaults.
func entry(mode string) Spec {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return Spec{
		Stage:      testStage,
		Bin:        exe,
		StableWait: 20 * time.Second,
		CGroup:     CGroup{GroupName: "vc-worker"},
		Envs:       map[string]string{childModeEnv: mode},
		Weight:     1,
	}
}

func newTestProducer(t *testing.T, locks Locks, entries ...Spec) *Producer[testTask, testOut] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer[testTask, testOut](ctx, testStage, entries, locks, nil)
	if err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func call(t *testing.T, p *Producer[testTask, testOut], task testTask) (testOut, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Process(ctx, task)
}

func mustCall(t *testing.T, p *Producer[testTask, testOut], task testTask) testOut {
	t.Helper()
	out, err := call(t, p, task)
	if err != nil {
		t.Fatalf("%s: %v", task.Op, err)
	}
	return out
}

// waitFor polls cond for up to 20s: long enough for a loaded machine, short enough to end a
// broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pendingCount(c *child) int {
	c.mu.Lock()
	p := c.cur
	c.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// testFunc adapts a function to Processor.
type testFunc func(ctx context.Context, task testTask) (testOut, error)

func (f testFunc) Process(ctx context.Context, task testTask) (testOut, error) { return f(ctx, task) }

// testLocks are counting locks, as the worker's ext_locks are.
type testLocks map[string]chan struct{}

func newTestLocks(counts map[string]uint) testLocks {
	l := testLocks{}
	for name, n := range counts {
		l[name] = make(chan struct{}, n)
	}
	return l
}

func (l testLocks) Acquire(ctx context.Context, name string) (func(), error) {
	select {
	case l[name] <- struct{}{}:
		return func() { <-l[name] }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l testLocks) TryAcquire(name string) (func(), bool) {
	select {
	case l[name] <- struct{}{}:
		return func() { <-l[name] }, true
	default:
		return nil, false
	}
}
