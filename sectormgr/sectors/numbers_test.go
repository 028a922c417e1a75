package sectors

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

func next(t *testing.T, s *Store, m abi.ActorID, floor uint64, ceiling *uint64) (abi.SectorNumber, bool) {
	t.Helper()
	n, ok, err := s.NextNumber(m, floor, ceiling)
	if err != nil {
		t.Fatalf("NextNumber(%d, %d) = %v", m, floor, err)
	}
	return n, ok
}

func u64(v uint64) *uint64 { return &v }

func TestNextNumberIsTheLargerOfStoredAndFloorPlusOne(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		// Fresh miner, floor 0: 1, 2.
		for _, want := range []abi.SectorNumber{1, 2} {
			if n, ok := next(t, s, miner, 0, nil); !ok || n != want {
				t.Fatalf("NextNumber = %d, %v; want %d", n, ok, want)
			}
		}
		// A floor above the stored 2 wins: 100+1.
		if n, ok := next(t, s, miner, 100, nil); !ok || n != 101 {
			t.Fatalf("floor 100 = %d, %v; want 101", n, ok)
		}
		// A floor below the stored 101 is ignored.
		if n, ok := next(t, s, miner, 50, nil); !ok || n != 102 {
			t.Fatalf("floor 50 = %d, %v; want 102", n, ok)
		}
		if last, err := s.LastNumber(miner); err != nil || last != 102 {
			t.Fatalf("LastNumber = %d, %v; want 102", last, err)
		}
		// Other miners have their own counters.
		if n, _ := next(t, s, 1000, 0, nil); n != 1 {
			t.Fatalf("miner 1000 = %d, want 1", n)
		}
		if last, err := s.LastNumber(2000); err != nil || last != 0 {
			t.Fatalf("LastNumber of an unknown miner = %d, %v", last, err)
		}
	})
}

func TestNextNumberKeepsTheOriginalCounterKey(t *testing.T) {
	db := statedb.InMemory()
	s := New(db)
	next(t, s, 1000, 300, nil)
	raw, err := db.Get("sector-number//m-1000")
	if err != nil {
		t.Fatal(err)
	}
	if n, size := binary.Uvarint(raw); n != 301 || size != len(raw) {
		t.Fatalf("counter = %x (%d), want the uvarint of 301", raw, n)
	}
	// Allocate (the mock) and NextNumber share the counter.
	sid, err := s.Allocate(1000, proof)
	if err != nil || sid.Number != 302 {
		t.Fatalf("Allocate after NextNumber = %v, %v; want number 302", sid, err)
	}
}

func TestNextNumberStopsAtTheCeiling(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		if n, ok := next(t, s, miner, 9, u64(10)); !ok || n != 10 {
			t.Fatalf("first = %d, %v; want 10", n, ok)
		}
		if n, ok := next(t, s, miner, 9, u64(10)); ok || n != 0 {
			t.Fatalf("past the ceiling = %d, %v; want nothing", n, ok)
		}
		// Nothing was consumed: a higher ceiling gives 11.
		if n, ok := next(t, s, miner, 9, u64(11)); !ok || n != 11 {
			t.Fatalf("raised ceiling = %d, %v; want 11", n, ok)
		}
		// A floor at or above the ceiling gives nothing.
		if _, ok := next(t, s, 2000, 20, u64(20)); ok {
			t.Fatal("floor 20, ceiling 20 handed out a number")
		}
	})
}

func TestNextNumberSkipsNumbersWithAState(t *testing.T) {
	s := New(statedb.InMemory())
	if err := s.Init(abi.SectorID{Miner: miner, Number: 1}, proof); err != nil {
		t.Fatal(err)
	}
	if n, _ := next(t, s, miner, 0, nil); n != 2 {
		t.Fatalf("NextNumber = %d, want 2 (1 has a state)", n)
	}
}

func TestInitCreatesTheOnlineStateOnce(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		sid := abi.SectorID{Miner: miner, Number: 7}
		if err := s.Init(sid, proof); err != nil {
			t.Fatal(err)
		}
		st, err := s.Online(sid)
		if err != nil || st.ID != sid || st.SectorType != proof || st.Ticket != nil || st.Finalized {
			t.Fatalf("state = %+v, %v", st, err)
		}
		if err := s.Init(sid, proof); err == nil || err.Error() != "sector m-10000-n-7 already initialized" {
			t.Fatalf("second Init = %v", err)
		}
		// An offline sector is not initialized again either.
		if err := s.Abort(sid, "test"); err != nil {
			t.Fatal(err)
		}
		if err := s.Init(sid, proof); err == nil || err.Error() != "sector m-10000-n-7 already initialized" {
			t.Fatalf("Init of an aborted sector = %v", err)
		}
		if _, err := s.Find(api.WorkerOffline, sid); err != nil {
			t.Fatalf("aborted sector: %v", err)
		}
	})
}

func TestConcurrentNextNumbersAreDistinct(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		const n = 40
		var wg sync.WaitGroup
		got := make(chan abi.SectorNumber, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				num, ok, err := s.NextNumber(miner, 0, nil)
				if err != nil || !ok {
					t.Errorf("NextNumber = %v, %v", ok, err)
				}
				got <- num
			}()
		}
		wg.Wait()
		close(got)
		seen := map[abi.SectorNumber]bool{}
		for num := range got {
			if seen[num] || num < 1 || num > n {
				t.Fatalf("number %d handed out twice or out of 1..%d", num, n)
			}
			seen[num] = true
		}
	})
}
