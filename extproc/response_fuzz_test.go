package extproc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var responseSeeds = []string{
	`{"id":0,"err_msg":null,"output":{"comm_r":[1,2,3]}}`,
	`{"id":1,"err_msg":"pc1 failed: disk full","output":null}`,
	`{"id":2,"err_msg":null,"output":null}`,
	`{"id":3,"output":true}`,
	`{"id":18446744073709551615,"output":1}`,
	`{"id":18446744073709551616,"output":1}`,
	`{"id":-1,"output":1}`,
	`{"id":"0","output":1}`,
	`{"err_msg":"no id"}`,
	`{"id":0,"err_msg":7}`,
	`{"id":0,"output":}`,
	`[{"id":0}]`,
	`null`,
	`pc1 processor ready`,
	"{\"id\":0,\"output\":\"\xff\xfe\"}",
	strings.Repeat("[", 10000),
}

// FuzzParseResponse: any line read from a child is a response or not, never a panic; a response
// carries either an error with the child's message or an output that is a JSON value, and what
// Serve writes parses back to what it meant.
func FuzzParseResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		id, output, callErr, ok := parseResponse(line)
		if !ok {
			if id != 0 || output != nil || callErr != nil {
				t.Fatalf("not a response, yet id %d output %q err %v", id, output, callErr)
			}
			return
		}
		switch {
		case callErr != nil && output != nil:
			t.Fatalf("both an error (%v) and an output (%q)", callErr, output)
		case callErr == nil && !json.Valid(output):
			t.Fatalf("output %q is not a JSON value", output)
		case callErr == nil && bytes.Equal(output, []byte("null")):
			t.Fatal("a null output taken for a result")
		}
		// Serve's encoding of the same answer reads back the same.
		id2, output2, callErr2, ok2 := parseResponse(encodeResponse(id, output, callErr))
		if !ok2 || id2 != id || (callErr == nil) != (callErr2 == nil) {
			t.Fatalf("re-encoded response differs: id %d/%d ok %v err %v/%v", id, id2, ok2, callErr, callErr2)
		}
		if callErr != nil && callErr.Error() != callErr2.Error() && !errors.Is(callErr, errOutputLost) {
			t.Fatalf("error message changed: %q -> %q", callErr, callErr2)
		}
		if callErr == nil && !bytes.Equal(compact(t, output), compact(t, output2)) {
			t.Fatalf("output changed: %q -> %q", output, output2)
		}
		_ = preview(line)
	})
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return out.Bytes()
}

// FuzzResponseStream feeds arbitrary bytes to the reader of a child's stdout with four calls
// pending: it never panics or blocks, each call gets at most one answer, and an answer is
// either an error or a JSON output.
func FuzzResponseStream(f *testing.F) {
	f.Add([]byte(strings.Join(responseSeeds, "\n")))
	f.Add([]byte("{\"id\":1,\"output\":2}\n{\"id\":1,\"output\":3}\n\n  \r\n{\"id\":0,\"err_msg\":\"x\"}"))
	f.Add([]byte("{\"id\":3,\"output\":{\"a\":\n1}}\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &process{stage: testStage, pid: -1, pending: map[uint64]chan result{}}
		chans := make([]chan result, 4)
		for i := range chans {
			chans[i] = make(chan result, 1)
			p.pending[uint64(i)] = chans[i]
		}
		p.deliverAll(bufio.NewReader(bytes.NewReader(data)))
		for i, ch := range chans {
			select {
			case r := <-ch:
				if (r.err == nil) == (r.output == nil) {
					t.Fatalf("call %d: output %q and error %v", i, r.output, r.err)
				}
				if r.err == nil && !json.Valid(r.output) {
					t.Fatalf("call %d: output %q is not JSON", i, r.output)
				}
				if _, still := p.pending[uint64(i)]; still {
					t.Fatalf("call %d answered but still pending", i)
				}
			default:
				if _, still := p.pending[uint64(i)]; !still {
					t.Fatalf("call %d forgotten without an answer", i)
				}
			}
		}
	})
}
