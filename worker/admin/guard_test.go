package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// A web page cannot drive a tokenless worker: the text/plain POST from another origin that paused
// a thread in the review is refused before the call runs, and so is a cross-origin websocket.
func TestBrowsersCannotDriveTheWorker(t *testing.T) {
	threads := &fakeThreads{}
	srv := httptest.NewServer(NewHandler(threads))
	t.Cleanup(srv.Close)
	self := strings.TrimPrefix(srv.URL, "http://")
	pause := `{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":[0],"id":1}`
	for _, c := range []struct {
		name, host, origin, contentType string
		status                          int
		body                            string
	}{
		{"the review's request", "", "http://evil.example", "text/plain", 403,
			`refused: Origin "http://evil.example" is not this server's (http://` + self + `): requests of web pages from other origins are not served`},
		{"text/plain", "", "", "text/plain", 415, `refused: a POST needs "Content-Type: application/json", not "text/plain"`},
		{"DNS rebinding", "evil.example:17890", "", "application/json", 403,
			`refused: Host "evil.example:17890" is not a name of this server: reach it by IP address, localhost or its host name (other names are refused, against DNS rebinding)`},
	} {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(pause))
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		req.Header.Set("Content-Type", c.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(body) != c.body+"\n" {
			t.Errorf("%s: %d %q\nwant %d %q", c.name, resp.StatusCode, body, c.status, c.body)
		}
	}
	if len(threads.paused) != 0 {
		t.Fatalf("a refused request paused %v", threads.paused)
	}

	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	if _, resp, _ := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {"http://evil.example"}}); resp == nil || resp.StatusCode != 403 {
		t.Errorf("cross-origin websocket: %v", resp)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("websocket of a client: %v, %v", resp, err)
	}
	conn.Close()
	// The worker's own clients still get through.
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(pause))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a client's pause: %v, %v", resp, err)
	}
	resp.Body.Close()
	if len(threads.paused) != 1 {
		t.Errorf("paused %v, want thread 0 once", threads.paused)
	}
}
