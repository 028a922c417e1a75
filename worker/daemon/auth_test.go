package daemon

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/auth"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
)

func serveMock(t *testing.T, opts ...server.Option) string {
	t.Helper()
	m, err := mock.New(10000, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); server.Serve(ctx, ln, server.New(m, opts...)) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// check runs the start-up token check of a worker whose config names addr and token.
func check(t *testing.T, addr, token string) (verifier bool, err error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	text := "[sector_manager]\nrpc_client.addr = \"/ip4/" + host + "/tcp/" + port + "\"\n"
	if token != "" {
		text += "rpc_client.token = \"" + token + "\"\n"
	}
	cfg, err := config.Parse([]byte(text + "[[sealing_thread]]\nlocation = \"/s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	rpc, closer, err := api.NewManagerClient(context.Background(), cfg.SectorManager.Addr.URL(api.ManagerRPCPath), api.AuthHeader(token))
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	v, err := checkToken(context.Background(), rpc, cfg)
	return v != nil, err
}

func TestStartupTokenCheck(t *testing.T) {
	a, _ := auth.New([]byte(strings.Repeat("k", 32)))
	other, _ := auth.New([]byte(strings.Repeat("o", 32)))
	write, _ := a.CreateToken(api.AllowFor(api.PermWrite))
	admin, _ := a.CreateToken(api.AllowFor(api.PermAdmin))
	read, _ := a.CreateToken(api.AllowFor(api.PermRead))
	forged, _ := other.CreateToken(api.AllowFor(api.PermAdmin))

	withAuth := serveMock(t, server.WithAuth(a.Verify))
	mixed := serveMock(t, server.WithAuth(a.Verify, api.PermWrite))
	open := serveMock(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()

	for _, c := range []struct {
		name, addr, token string
		verifier          bool
		wantErr           string
	}{
		{"write token", withAuth, write, true, ""},
		{"admin token", withAuth, admin, true, ""},
		{"no token, open manager", open, "", false, ""},
		{"no token, manager allows tokenless workers", mixed, "", false, ""},
		{"no token, manager requires one", withAuth, "", false,
			"the sector manager at http://" + withAuth + "/rpc/v0 requires a token: set sector_manager.rpc_client.token"},
		{"read token", withAuth, read, false, "sector_manager.rpc_client.token allows [read], but a worker needs write"},
		{"forged token", withAuth, forged, false, "sector_manager.rpc_client.token is not accepted by the sector manager at http://" + withAuth +
			"/rpc/v0 (create one with `venus-sector-manager --home <manager home> auth create-token --perm write`): missing permission to invoke 'AuthVerify' (need 'read'): invalid token: signature does not match"},
		{"token, open manager", open, write, false, "sector_manager.rpc_client.token is set, but the sector manager at http://" + open + "/rpc/v0 cannot verify tokens"},
		{"token, manager down", down, write, false, "sector manager unreachable at http://" + down + "/rpc/v0 (sector_manager.rpc_client.addr)"},
	} {
		v, err := check(t, c.addr, c.token)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)):
			t.Errorf("%s: got %v\nwant %s…", c.name, err, c.wantErr)
		case v != c.verifier:
			t.Errorf("%s: verifier %v, want %v", c.name, v, c.verifier)
		}
	}
}
