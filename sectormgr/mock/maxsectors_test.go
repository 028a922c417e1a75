package mock

import (
	"context"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// WithMaxSectors stops allocation at a sector number, counting what a previous run handed out,
// and answers null (the worker's "nothing to seal") rather than an error.
func TestMaxSectorsStopsAllocation(t *testing.T) {
	db := statedb.InMemory()
	first, err := New(testMiner, testSize, WithDB(db))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		allocate(t, first)
	}
	// A restart with a ceiling below what was handed out allocates nothing more.
	m, err := New(testMiner, testSize, WithDB(db), WithMaxSectors(3))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.AllocateSector(context.Background(), api.AllocateSectorSpec{}); s != nil || err != nil {
		t.Fatalf("AllocateSector at the ceiling = %+v, %v; want null", s, err)
	}
	higher, err := New(testMiner, testSize, WithDB(db), WithMaxSectors(4))
	if err != nil {
		t.Fatal(err)
	}
	if s := allocate(t, higher); s.ID.Number != 4 {
		t.Fatalf("allocated %v, want number 4", s.ID)
	}
	if s, err := higher.AllocateSector(context.Background(), api.AllocateSectorSpec{}); s != nil || err != nil {
		t.Fatalf("AllocateSector above the ceiling = %+v, %v; want null", s, err)
	}
	if n := len(higher.Sectors(false)); n != 4 {
		t.Fatalf("%d online sectors, want 4", n)
	}
}
