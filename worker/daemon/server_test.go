package daemon

import (
	"net/http"
	"testing"
	"time"
)

// The admin server does not let a slow client hold a connection.
func TestAdminServerTimeouts(t *testing.T) {
	srv := adminServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 30*time.Second || srv.IdleTimeout != 2*time.Minute {
		t.Errorf("timeouts: header %s, read %s, idle %s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
	}
	if adminMaxConns != 64 {
		t.Errorf("adminMaxConns = %d", adminMaxConns)
	}
}
