package extproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"
)

// writeGrace is how long a call whose request could not be written waits for the child's exit
// to be noticed, so it reports the exit rather than a bare broken pipe.
const writeGrace = time.Second

// lineRead is one line read from a child, or why reading stopped.
type lineRead struct {
	line []byte
	err  error
}

// result is the answer to one request.
type result struct {
	output json.RawMessage
	err    error
}

// process is one running child: one incarnation of a [[processors.<stage>]] entry.
type process struct {
	stage string
	pid   int
	cmd   *exec.Cmd
	stdin io.WriteCloser

	writeMu sync.Mutex // one request line at a time

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan result
	exitErr error         // set once the child exited
	exited  chan struct{} // closed once the child exited and was reaped
}

// spawn starts the child and waits (up to stable_wait, or ctx) for its ready line.
func spawn(ctx context.Context, stage string, cfg Spec) (*process, error) {
	cmd, err := command(stage, cfg)
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s processor %q: %w", stage, cmd.Path, err)
	}
	p := &process{
		stage:   stage,
		pid:     cmd.Process.Pid,
		cmd:     cmd,
		stdin:   stdin,
		pending: map[uint64]chan result{},
		exited:  make(chan struct{}),
	}
	wait := cfg.StableWait
	if wait <= 0 {
		wait = DefaultStableWait
	}
	r := bufio.NewReader(stdout)
	if err := p.waitReady(ctx, r, wait); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s processor %q (pid %d): %w", stage, cmd.Path, p.pid, err)
	}
	go p.readResponses(r)
	return p, nil
}

// command builds the child's command line and environment (spec §9.2).
func command(stage string, cfg Spec) (*exec.Cmd, error) {
	bin := cfg.Bin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%s processor: find the running executable to spawn (set bin to choose a program): %w", stage, err)
		}
		bin = exe
	}
	args := cfg.Args
	if args == nil {
		args = []string{"processor", stage}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv(cfg)
	cmd.Stderr = os.Stderr
	detach(cmd)
	return cmd, nil
}

// childEnv is the daemon's environment now, plus envs, plus the NUMA preference; later entries
// win over earlier ones.
func childEnv(cfg Spec) []string {
	env := os.Environ()
	keys := make([]string, 0, len(cfg.Envs))
	for k := range cfg.Envs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+cfg.Envs[k])
	}
	if cfg.NUMAPreferred != nil {
		env = append(env, NUMAPreferredEnv+"="+strconv.Itoa(*cfg.NUMAPreferred))
	}
	return env
}

func (p *process) waitReady(ctx context.Context, r *bufio.Reader, wait time.Duration) error {
	got := make(chan lineRead, 1)
	go func() {
		line, err := r.ReadBytes('\n')
		got <- lineRead{line, err}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var first lineRead
	select {
	case first = <-got:
	case <-timer.C:
		return p.abortReady(got, fmt.Errorf("timeout exceeded before child get ready (stable_wait %s)", wait))
	case <-ctx.Done():
		return p.abortReady(got, ctx.Err())
	}
	want := ReadyLine(p.stage)
	if line := string(bytes.TrimSpace(first.line)); line != want {
		if first.err != nil && line == "" {
			return fmt.Errorf("exited before it got ready: %w", first.err)
		}
		return fmt.Errorf("unexpected first line %q, want %q", line, want)
	}
	return nil
}

// abortReady kills a child that is not ready in time and lets the reader goroutine end.
func (p *process) abortReady(got <-chan lineRead, err error) error {
	_ = p.cmd.Process.Kill()
	<-got
	return err
}

// readResponses hands each response to its caller until the child's stdout closes, then reaps
// the child and fails whatever is still pending.
func (p *process) readResponses(r *bufio.Reader) {
	p.deliverAll(r)
	waitErr := p.cmd.Wait()
	p.markExited(waitErr)
}

// deliverAll reads response lines from r until it ends, handing each to its caller; a line that
// is not a response is dumped and skipped.
func (p *process) deliverAll(r *bufio.Reader) {
	for {
		line, err := r.ReadBytes('\n')
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			p.deliver(trimmed)
		}
		if err != nil {
			return
		}
	}
}

func (p *process) deliver(line []byte) {
	id, output, callErr, ok := parseResponse(line)
	if !ok {
		dumpUnparseable(p.stage, p.pid, line)
		return
	}
	p.mu.Lock()
	ch, found := p.pending[id]
	delete(p.pending, id)
	p.mu.Unlock()
	if !found {
		// Its caller gave up (context done); nobody waits for it any more.
		log.Debugw("response to a request nobody waits for", "stage", p.stage, "pid", p.pid, "id", id)
		return
	}
	ch <- result{output: output, err: callErr}
}

func (p *process) markExited(waitErr error) {
	status := waitErr
	if p.cmd.ProcessState != nil {
		status = errors.New(p.cmd.ProcessState.String())
	}
	exitErr := fmt.Errorf("%w: %s (pid %d): %v", ErrChildExited, p.stage, p.pid, status)
	p.mu.Lock()
	p.exitErr = exitErr
	pending := p.pending
	p.pending = nil
	// Closed before the pending calls fail, so a caller that saw its call fail finds the
	// process already marked gone and waits for the restart.
	close(p.exited)
	p.mu.Unlock()
	for _, ch := range pending {
		ch <- result{err: exitErr}
	}
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// call sends one task and waits for its response, the child's exit, or ctx.
func (p *process) call(ctx context.Context, task json.RawMessage) (json.RawMessage, error) {
	id, ch, err := p.register()
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(request{ID: id, Task: task})
	if err != nil {
		p.forget(id)
		return nil, fmt.Errorf("encode %s request: %w", p.stage, err)
	}
	if err := p.send(append(line, '\n')); err != nil {
		return p.sendFailed(id, ch, err)
	}
	select {
	case r := <-ch:
		return r.output, r.err
	case <-ctx.Done():
		p.forget(id)
		return nil, ctx.Err()
	}
}

func (p *process) register() (uint64, chan result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exitErr != nil {
		return 0, nil, p.exitErr
	}
	id := p.nextID
	p.nextID++
	ch := make(chan result, 1)
	p.pending[id] = ch
	return id, ch, nil
}

func (p *process) forget(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, id)
}

func (p *process) send(line []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_, err := p.stdin.Write(line)
	return err
}

// sendFailed reports a request that could not be written: most likely the child just died, and
// its exit says more than the broken pipe.
func (p *process) sendFailed(id uint64, ch chan result, writeErr error) (json.RawMessage, error) {
	select {
	case r := <-ch:
		return r.output, r.err
	case <-time.After(writeGrace):
		p.forget(id)
		return nil, fmt.Errorf("send request to %s processor (pid %d): %w", p.stage, p.pid, writeErr)
	}
}

// kill stops the child and waits until it is reaped.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
