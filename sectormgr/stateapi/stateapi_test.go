package stateapi

import (
	"context"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// A ping's name is bound to the token the call was verified with (the AuthHandler's CallerID),
// so a second worker's token cannot re-point the first worker's name at its own address.
func TestWorkerPingBindsTheNameToTheCallersToken(t *testing.T) {
	db := statedb.InMemory()
	a := New(sectors.New(db), registry.New(db))
	first := api.WithCallerID(context.Background(), "id-of-token-a")
	other := api.WithCallerID(context.Background(), "id-of-token-b")
	if err := a.WorkerPing(first, api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"}); err != nil {
		t.Fatal(err)
	}
	err := a.WorkerPing(other, api.WorkerInfo{Name: "w1", Dest: "10.6.6.6:17890"})
	if err == nil || !strings.HasPrefix(err.Error(), `worker name "w1" is registered by another token`) {
		t.Fatalf("ping of w1 with another token = %v", err)
	}
	if dest, err := a.WorkerResolveDest(context.Background(), "w1"); err != nil || dest != "10.0.0.1:17890" {
		t.Errorf("w1 resolves to %q, %v; want the first worker's address", dest, err)
	}
}
