package extproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRequestsOnTheWire(t *testing.T) {
	p := newTestProducer(t, nil, entry("raw"))
	for id := range 3 {
		got := mustCall(t, p, testTask{Op: "request"}).Text
		want := fmt.Sprintf(`{"id":%d,"task":{"op":"request"}}`, id)
		if got != want {
			t.Fatalf("request line %d = %s, want %s", id, got, want)
		}
	}
}

func TestRoundTripThroughServe(t *testing.T) {
	p := newTestProducer(t, nil, entry("serve"))
	out := mustCall(t, p, testTask{Op: "echo", Key: "hello"})
	if out.Text != "hello" || out.PID == os.Getpid() || out.PID == 0 {
		t.Fatalf("echo = %+v, want text hello from the child's pid", out)
	}
	if got := mustCall(t, p, testTask{Op: "args"}).Text; got != "processor test" {
		t.Fatalf("default args = %q, want %q", got, "processor test")
	}
}

func TestChildEnvironment(t *testing.T) {
	t.Setenv("EXT_TEST_INHERITED", "from-daemon")
	e := entry("serve")
	e.Envs["EXT_TEST_EXTRA"] = "from-envs"
	node := 1
	e.NUMAPreferred = &node
	p := newTestProducer(t, nil, e)
	for key, want := range map[string]string{
		"EXT_TEST_INHERITED": "from-daemon",
		"EXT_TEST_EXTRA":     "from-envs",
		NUMAPreferredEnv:     "1",
	} {
		if got := mustCall(t, p, testTask{Op: "env", Key: key}).Text; got != want {
			t.Errorf("child env %s = %q, want %q", key, got, want)
		}
	}
}

func TestResponsesMatchedByIDOutOfOrder(t *testing.T) {
	p := newTestProducer(t, nil, entry("serve"))
	first := make(chan error, 1)
	var firstOut testOut
	go func() {
		var err error
		firstOut, err = call(t, p, testTask{Op: "wait", Key: "k"})
		first <- err
	}()
	waitFor(t, "the first request to be pending", func() bool { return pendingCount(p.children[0]) == 1 })
	// Answered before the first one, which only ends once this one ran.
	if got := mustCall(t, p, testTask{Op: "signal", Key: "k"}).Text; got != "signalled" {
		t.Fatalf("second call got %q, want the answer to its own request", got)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if firstOut.Text != "waited k" {
		t.Fatalf("first call got %q, want %q", firstOut.Text, "waited k")
	}
}

func TestErrMsgBecomesTheError(t *testing.T) {
	p := newTestProducer(t, nil, entry("serve"))
	_, err := call(t, p, testTask{Op: "fail", Key: "disk full"})
	if err == nil || err.Error() != "boom: disk full" {
		t.Fatalf("err = %v, want exactly %q", err, "boom: disk full")
	}
}

func TestOutputLost(t *testing.T) {
	p := newTestProducer(t, nil, entry("raw"))
	_, err := call(t, p, testTask{Op: "lost"})
	if err == nil || err.Error() != "output field lost" {
		t.Fatalf("err = %v, want %q", err, "output field lost")
	}
}

func TestUnparseableResponseDumped(t *testing.T) {
	p := newTestProducer(t, nil, entry("raw"))
	// Logged only: the call still gets its answer.
	if got := mustCall(t, p, testTask{Op: "garbage"}).Text; got != "after garbage" {
		t.Fatalf("call after a garbage line got %q", got)
	}
	pid := p.children[0].cur.pid
	dir := filepath.Join(t.TempDir(), "dumps", "not-yet-made")
	t.Setenv(DumpEnvPrefix+strconv.Itoa(pid), dir)
	if got := mustCall(t, p, testTask{Op: "garbage"}).Text; got != "after garbage" {
		t.Fatalf("call after a garbage line got %q", got)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("dump dir: %v", err)
	}
	if len(files) != 1 {
		t.Fatalf("dump dir holds %d files, want 1", len(files))
	}
	name := files[0].Name()
	if !regexp.MustCompile(fmt.Sprintf(`^ext-processor-err-resp-%d-[0-9a-f]{32}\.json$`, pid)).MatchString(name) {
		t.Fatalf("dump file name %q does not follow ext-processor-err-resp-<pid>-<uuid>.json", name)
	}
	body, _ := os.ReadFile(filepath.Join(dir, name))
	if string(body) != "this is not json at all" {
		t.Fatalf("dump holds %q, want the unparseable line", body)
	}
}

func TestPreviewCutsAtCharBoundary(t *testing.T) {
	if got := preview([]byte("short")); got != "short..." {
		t.Errorf("preview(short) = %q", got)
	}
	long := strings.Repeat("a", 99) + "é" + strings.Repeat("b", 50) // é spans bytes 99 and 100
	if got, want := preview([]byte(long)), strings.Repeat("a", 99)+"..."; got != want {
		t.Errorf("preview cut inside a character: %q, want %q", got, want)
	}
	exact := strings.Repeat("x", 150)
	if got := preview([]byte(exact)); got != strings.Repeat("x", 100)+"..." {
		t.Errorf("preview keeps %d bytes, want 100", len(got)-3)
	}
}

func TestReadyTimeoutKillsChild(t *testing.T) {
	e := entry("silent")
	e.StableWait = 300 * time.Millisecond
	_, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{e}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "timeout exceeded before child get ready") {
		t.Fatalf("err = %v, want the ready timeout", err)
	}
	if !strings.Contains(err.Error(), "processors.test[0]") {
		t.Errorf("err = %v, want it to name the table", err)
	}
	pid := pidIn(t, err.Error())
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("child %d still exists after the ready timeout (kill -0: %v)", pid, err)
	}
}

func TestUnexpectedFirstLine(t *testing.T) {
	_, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{entry("wrong")}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `unexpected first line "hello there", want "test processor ready"`) {
		t.Fatalf("err = %v, want unexpected first line", err)
	}
}

func TestStartFailureNamesTheProgram(t *testing.T) {
	e := entry("serve")
	e.Bin = filepath.Join(t.TempDir(), "no-such-binary")
	_, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{e}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-binary") {
		t.Fatalf("err = %v, want it to name the missing program", err)
	}
}

func TestKilledChildFailsPendingAndComesBack(t *testing.T) {
	p := newTestProducer(t, nil, entry("serve"))
	pid := mustCall(t, p, testTask{Op: "echo"}).PID
	dir := t.TempDir()
	blocked := make(chan error, 1)
	go func() {
		_, err := call(t, p, testTask{Op: "block", Dir: dir})
		blocked <- err
	}()
	waitFor(t, "the task to start in the child", func() bool {
		_, err := os.Stat(filepath.Join(dir, "block-started"))
		return err == nil
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-blocked
	want := fmt.Sprintf("child process exited: test (pid %d): signal: killed", pid)
	if err == nil || err.Error() != want || !errors.Is(err, ErrChildExited) {
		t.Fatalf("pending call err = %v, want %q", err, want)
	}
	next := mustCall(t, p, testTask{Op: "echo", Key: "again"})
	if next.Text != "again" || next.PID == pid {
		t.Fatalf("call after the restart = %+v, want an answer from a new child", next)
	}
}

func TestCloseKillsChildren(t *testing.T) {
	p, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{entry("serve"), entry("serve")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, c := range p.children {
		pids = append(pids, c.cur.pid)
	}
	p.Close()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d alive after Close (kill -0: %v)", pid, err)
		}
	}
	if _, err := call(t, p, testTask{Op: "echo"}); err == nil {
		t.Fatal("call after Close succeeded")
	}
}

func TestChildConcurrentLimit(t *testing.T) {
	e := entry("serve")
	two := uint(2)
	e.Concurrent = &two
	p := newTestProducer(t, nil, e)
	outs := parallel(t, p, 6, testTask{Op: "busy", SleepMS: 100})
	for _, o := range outs {
		if o.MaxInFlight > 2 {
			t.Fatalf("concurrent = 2, but the child ran %d tasks at once", o.MaxInFlight)
		}
	}
}

func TestExtLocksSpanChildren(t *testing.T) {
	locks := newTestLocks(map[string]uint{"gpu": 1})
	a, b := entry("serve"), entry("serve")
	a.Locks = []string{"gpu"}
	b.Locks = []string{"gpu", "gpu"} // written twice: must not wait for itself
	p := newTestProducer(t, locks, a, b)
	dir := t.TempDir()
	outs := parallel(t, p, 4, testTask{Op: "exclusive", Dir: dir, SleepMS: 50})
	if len(outs) != 4 {
		t.Fatalf("%d of 4 calls succeeded", len(outs))
	}
}

// parallel runs n copies of task at once and returns the outputs of those that succeeded,
// failing the test for the others.
func parallel(t *testing.T, p *Producer[testTask, testOut], n int, task testTask) []testOut {
	t.Helper()
	var mu sync.Mutex
	var outs []testOut
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := call(t, p, task)
			if err != nil {
				t.Errorf("%s: %v", task.Op, err)
				return
			}
			mu.Lock()
			outs = append(outs, out)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return outs
}

func pidIn(t *testing.T, msg string) int {
	t.Helper()
	m := regexp.MustCompile(`pid (\d+)`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no pid in %q", msg)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// The restart of a child that died is told to the hook the worker's metrics count with.
func TestRestartIsTold(t *testing.T) {
	var restarts atomic.Int64
	p, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{entry("serve")}, nil,
		func(stage string) {
			if stage == testStage {
				restarts.Add(1)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pid := mustCall(t, p, testTask{Op: "echo"}).PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart to be told", func() bool { return restarts.Load() == 1 })
	if next := mustCall(t, p, testTask{Op: "echo"}); next.PID == pid {
		t.Fatalf("answer from the killed child %d", pid)
	}
}
