package server

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A slow client cannot hold a connection: headers within 10s, the whole request within a minute,
// an idle keep-alive connection two minutes; no write timeout, so a long call is not cut.
func TestServerTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), context.Background())
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != time.Minute || srv.IdleTimeout != 2*time.Minute || srv.WriteTimeout != 0 {
		t.Errorf("timeouts: header %s, read %s, idle %s, write %s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout)
	}
	if DefaultMaxConnections != 4096 {
		t.Errorf("DefaultMaxConnections = %d", DefaultMaxConnections)
	}
}
