package extproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// consumer runs Serve in this process over pipes.
type consumer struct {
	in   *io.PipeWriter
	out  *bufio.Reader
	done chan error
}

func startConsumer(t *testing.T) *consumer {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &consumer{in: inW, out: bufio.NewReader(outR), done: make(chan error, 1)}
	go func() {
		c.done <- Serve[testTask, testOut](testStage, testFunc(testImpl), inR, outW)
		outW.Close()
	}()
	t.Cleanup(func() { inW.Close(); io.Copy(io.Discard, outR) })
	return c
}

func (c *consumer) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

func (c *consumer) readLine(t *testing.T) string {
	t.Helper()
	line, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("read consumer output: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestServeProtocol(t *testing.T) {
	c := startConsumer(t)
	if got := c.readLine(t); got != "test processor ready" {
		t.Fatalf("first line %q, want %q", got, "test processor ready")
	}

	c.send(t, `{"id":7,"task":{"op":"echo","key":"x"}}`)
	want := fmt.Sprintf(`{"id":7,"err_msg":null,"output":{"text":"x","pid":%d}}`, os.Getpid())
	if got := c.readLine(t); got != want {
		t.Fatalf("success response\n got %s\nwant %s", got, want)
	}

	c.send(t, `this is not a request`)
	c.send(t, `{"task":{"op":"echo"}}`) // no id: cannot be answered either
	c.send(t, `{"id":8,"task":{"op":"fail","key":"y"}}`)
	if got, want := c.readLine(t), `{"id":8,"err_msg":"boom: y","output":null}`; got != want {
		t.Fatalf("after unparseable requests: got %s, want %s (nothing for the bad lines)", got, want)
	}

	c.send(t, `{"id":9,"task":{"op":42}}`)
	if got := c.readLine(t); !strings.HasPrefix(got, `{"id":9,"err_msg":"decode test task: `) || !strings.HasSuffix(got, `"output":null}`) {
		t.Fatalf("bad task got %s, want an err_msg naming the decode failure", got)
	}
}

func TestServeRunsRequestsConcurrently(t *testing.T) {
	c := startConsumer(t)
	c.readLine(t)
	key := fmt.Sprintf("serve-concurrent-%d", time.Now().UnixNano()) // waiters outlive a test run
	c.send(t, `{"id":1,"task":{"op":"wait","key":"`+key+`"}}`)
	c.send(t, `{"id":2,"task":{"op":"signal","key":"`+key+`"}}`)
	// Id 1 can only finish once id 2 ran: a server that handled requests one at a time would
	// never answer. The two answers may come in either order (the woken waiter can write first).
	first, second := c.readLine(t), c.readLine(t)
	if strings.HasPrefix(first, `{"id":1,`) {
		first, second = second, first
	}
	if !strings.HasPrefix(first, `{"id":2,`) || !strings.Contains(first, `"signalled"`) ||
		!strings.HasPrefix(second, `{"id":1,`) || !strings.Contains(second, `"waited `) {
		t.Fatalf("responses %s, %s: want id 2 signalled and id 1 waited", first, second)
	}
}

func TestServeEndsWhenParentGoes(t *testing.T) {
	c := startConsumer(t)
	c.readLine(t)
	c.in.Close()
	select {
	case err := <-c.done:
		if !errors.Is(err, ErrParentGone) || err.Error() != "got empty line, parent might be out" {
			t.Fatalf("Serve returned %v, want %q", err, ErrParentGone)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return at EOF")
	}
}
