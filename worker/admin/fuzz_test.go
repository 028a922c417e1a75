package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAdminRequest posts arbitrary bodies to the admin API: the server must answer (an error is
// fine) and never panic or hang.
func FuzzAdminRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","method":"VenusWorker.WorkerList","params":[],"id":1}`,
		`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[0,"PC1Done"],"id":2}`,
		`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[18446744073709551616],"id":3}`,
		`{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":["x"],"id":4}`,
		`{"jsonrpc":"2.0","method":"VenusWorker.WorkerSetEnv","params":["A\u0000","b"],"id":5}`,
		`[{"jsonrpc":"2.0","method":"VenusWorker.WorkerList","params":[],"id":1}]`,
		`{`,
	} {
		f.Add(s)
	}
	srv := httptest.NewServer(NewHandler(&fakeThreads{}))
	f.Cleanup(srv.Close)
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body string) {
		if strings.Contains(body, "WorkerSetEnv") || strings.Contains(body, "WorkerRemoveEnv") {
			t.Skip("environment changes are covered by unit tests; fuzzing them would change this process's env")
		}
		resp, err := client.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("server did not answer: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}
