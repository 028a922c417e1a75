package messager

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// rpcServer is a JSON-RPC endpoint on 127.0.0.1 that answers each method with literal JSON and
// records every request body as it arrived.
type rpcServer struct {
	t    *testing.T
	url  string
	srv  *http.Server
	mu   sync.Mutex
	reqs []string
	auth []string
	// answer returns the literal JSON of "result", or of "error" when isErr.
	answer func(method string, params json.RawMessage) (body string, isErr bool)
}

func newRPCServer(t *testing.T, answer func(method string, params json.RawMessage) (string, bool)) *rpcServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rpcServer{t: t, url: "http://" + ln.Addr().String() + "/rpc/v0", answer: answer}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *rpcServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, string(body))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	out, isErr := s.answer(req.Method, req.Params)
	field := "result"
	if isErr {
		field = "error"
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(req.ID)+`,"`+field+`":`+out+`}`)
}

// requests returns each request's method and params, in order.
func (s *rpcServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.reqs))
	for i, raw := range s.reqs {
		var req struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal([]byte(raw), &req); err != nil {
			s.t.Fatalf("request %d: %v", i, err)
		}
		out[i] = req.Method + " " + string(req.Params)
	}
	return out
}

// down stops the server, so calls fail without an answer.
func (s *rpcServer) down() { s.srv.Close() }
