package extproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
)

// ErrParentGone is what Serve returns when its stdin ends: the worker that spawned it is gone.
var ErrParentGone = errors.New("got empty line, parent might be out")

// Serve is the child side of the protocol: it announces `<stage> processor ready` on out, then
// runs every request read from in on its own goroutine and writes each response as one line.
// It returns ErrParentGone when in ends. Nothing but the protocol may be written to out, so logs
// go to stderr.
func Serve[I, O any](stage string, impl Processor[I, O], in io.Reader, out io.Writer) error {
	applyNUMAPreference()
	w := &lineWriter{w: out}
	if err := w.writeLine([]byte(ReadyLine(stage))); err != nil {
		return fmt.Errorf("write ready line: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := bufio.NewReader(in)
	for {
		line, readErr := r.ReadBytes('\n')
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			serveLine(ctx, stage, impl, w, trimmed)
		}
		if errors.Is(readErr, io.EOF) {
			return ErrParentGone
		}
		if readErr != nil {
			return fmt.Errorf("read request: %w", readErr)
		}
	}
}

// serveLine starts one request. A line without an id cannot be answered, so it is only logged;
// a task that does not decode is answered with the decoding error rather than left hanging.
func serveLine[I, O any](ctx context.Context, stage string, impl Processor[I, O], w *lineWriter, line []byte) {
	var req struct {
		ID   *uint64         `json:"id"`
		Task json.RawMessage `json:"task"`
	}
	if err := json.Unmarshal(line, &req); err != nil || req.ID == nil {
		log.Warnw("unparseable request skipped", "stage", stage, "line", preview(line), "err", err)
		return
	}
	go func(id uint64) {
		output, err := run(ctx, stage, impl, req.Task)
		if err := w.writeLine(encodeResponse(id, output, err)); err != nil {
			log.Errorw("write response", "stage", stage, "id", id, "err", err)
		}
	}(*req.ID)
}

// run decodes the task, runs it and encodes the output, turning a panic into an error.
func run[I, O any](ctx context.Context, stage string, impl Processor[I, O], rawTask json.RawMessage) (output json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			output, err = nil, fmt.Errorf("%s processor panicked: %v\n%s", stage, r, debug.Stack())
		}
	}()
	var task I
	if err := json.Unmarshal(rawTask, &task); err != nil {
		return nil, fmt.Errorf("decode %s task: %w", stage, err)
	}
	out, err := impl.Process(ctx, task)
	if err != nil {
		return nil, err
	}
	output, err = json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s output: %w", stage, err)
	}
	return output, nil
}

func encodeResponse(id uint64, output json.RawMessage, err error) []byte {
	resp := response{ID: id, Output: output}
	if err != nil {
		msg := err.Error()
		resp.ErrMsg = &msg
		resp.Output = nil
	}
	line, mErr := json.Marshal(resp)
	if mErr != nil {
		// Only a malformed output can fail here, and run already re-encoded it.
		msg := "encode response: " + mErr.Error()
		line, _ = json.Marshal(response{ID: id, ErrMsg: &msg})
	}
	return line
}

// lineWriter writes whole lines, one writer at a time, so concurrent responses never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) writeLine(line []byte) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, err := lw.w.Write(append(line, '\n'))
	return err
}
