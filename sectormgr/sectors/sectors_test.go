package sectors

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	miner = abi.ActorID(10000)
	proof = abi.RegisteredSealProof_StackedDrg2KiBV1_1
)

// both runs a test on an in-memory store and on the store of a home.
func both(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Run("memory", func(t *testing.T) { test(t, New(statedb.InMemory())) })
	t.Run("home", func(t *testing.T) {
		db, err := statedb.OpenHome(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		test(t, New(db))
	})
}

func allocate(t *testing.T, s *Store) abi.SectorID {
	t.Helper()
	sid, err := s.Allocate(miner, proof)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// wantUnwrapped11001 checks that err is the 11001 error itself: go-jsonrpc v0.8.0 reads the code
// of the outermost error only.
func wantUnwrapped11001(t *testing.T, what string, err error) {
	t.Helper()
	coded, ok := err.(*api.CodedError)
	if !ok || coded.Code != api.ErrCodeSectorStateNotFound || coded.Message != "error code 11001: sector state not found" {
		t.Fatalf("%s: err = %#v (%v), want the unwrapped 11001 error", what, err, err)
	}
}

func report(next string) api.ReportStateReq {
	return api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/store/1"},
		StateChange: api.SectorStateChange{Prev: "Empty", Next: next, Event: "None"},
	}
}

func numbers(states []*api.SectorState) string {
	var out []string
	for _, st := range states {
		out = append(out, fmt.Sprint(st.ID.Number))
	}
	return strings.Join(out, " ")
}

func TestAllocateNumbersFromOneWithAnOnlineState(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		for want := abi.SectorNumber(1); want <= 3; want++ {
			sid := allocate(t, s)
			if sid != (abi.SectorID{Miner: miner, Number: want}) {
				t.Fatalf("allocation %d = %v", want, sid)
			}
			st, err := s.Online(sid)
			if err != nil || st.ID != sid || st.SectorType != proof || st.Finalized || st.LatestState != nil {
				t.Fatalf("state of %v = %+v, %v", sid, st, err)
			}
		}
		if other, _ := s.Allocate(1000, proof); other.Number != 1 {
			t.Fatalf("another miner's first number = %d, want 1 (counters are per miner)", other.Number)
		}
	})
}

func TestAllocateSkipsNumbersThatHaveAState(t *testing.T) {
	db := statedb.InMemory()
	s := New(db)
	taken := abi.SectorID{Miner: miner, Number: 2}
	if err := db.Update(func(tx statedb.Txn) error { return put(tx, offlinePrefix+Key(taken), &api.SectorState{ID: taken}) }); err != nil {
		t.Fatal(err)
	}
	if a, b := allocate(t, s), allocate(t, s); a.Number != 1 || b.Number != 3 {
		t.Fatalf("numbers %d, %d; want 1, 3", a.Number, b.Number)
	}
}

func TestAllocateUpToStopsAtTheCeiling(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		for want := abi.SectorNumber(1); want <= 2; want++ {
			if sid, ok, err := s.AllocateUpTo(miner, proof, 2); err != nil || !ok || sid.Number != want {
				t.Fatalf("allocation %d = %v, %v, %v", want, sid, ok, err)
			}
		}
		if sid, ok, err := s.AllocateUpTo(miner, proof, 2); err != nil || ok || sid != (abi.SectorID{}) {
			t.Fatalf("allocation above the ceiling = %v, %v, %v; want nothing", sid, ok, err)
		}
		// Refusing consumed nothing: a higher ceiling hands out the next number.
		if sid, ok, err := s.AllocateUpTo(miner, proof, 0); err != nil || !ok || sid.Number != 3 {
			t.Fatalf("allocation without a ceiling = %v, %v, %v; want number 3", sid, ok, err)
		}
		if list, _ := s.List(api.WorkerOnline, api.SectorWorkerJobAll); numbers(list) != "1 2 3" {
			t.Fatalf("online sectors = %s", numbers(list))
		}
	})
}

func TestConcurrentAllocationsAreDistinct(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		const n = 30
		var wg sync.WaitGroup
		got := make(chan abi.SectorNumber, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sid, err := s.Allocate(miner, proof)
				if err != nil {
					t.Error(err)
					return
				}
				got <- sid.Number
			}()
		}
		wg.Wait()
		close(got)
		seen := map[abi.SectorNumber]bool{}
		for num := range got {
			if seen[num] || num < 1 || num > n {
				t.Fatalf("number %d repeated or out of range", num)
			}
			seen[num] = true
		}
		if list, _ := s.List(api.WorkerOnline, api.SectorWorkerJobAll); len(list) != n {
			t.Fatalf("%d online states, want %d", len(list), n)
		}
	})
}

func TestCounterAndStatesSurviveReopen(t *testing.T) {
	home := t.TempDir()
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	s := New(db)
	a, b := allocate(t, s), allocate(t, s)
	if err := s.ReportState(a, report("Allocated")); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(b, "pc1 failed"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s = New(db)
	if next := allocate(t, s); next.Number != 3 {
		t.Fatalf("first number after reopen = %d, want 3", next.Number)
	}
	if st, err := s.Online(a); err != nil || st.LatestState == nil || st.LatestState.StateChange.Next != "Allocated" {
		t.Fatalf("online state after reopen = %+v, %v", st, err)
	}
	if h, _ := s.History(a); len(h) != 1 {
		t.Fatalf("history after reopen = %+v", h)
	}
	if st, err := s.Find(api.WorkerOffline, b); err != nil || st.AbortReason != "pc1 failed" {
		t.Fatalf("offline state after reopen = %+v, %v", st, err)
	}
}

func TestReportStateKeepsLatestAndWholeHistory(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 0, time.FixedZone("CET", 3600))
	s := New(statedb.InMemory(), WithClock(func() time.Time { at = at.Add(time.Second); return at }))
	sid := allocate(t, s)
	failed := report("PC1Done")
	failed.StateChange.Prev = "TicketAssigned"
	failed.Failure = &api.SectorFailure{Level: "Temporary", Desc: "pc2: out of memory"}
	for _, req := range []api.ReportStateReq{report("Allocated"), failed, report("PC2Done")} {
		if err := s.ReportState(sid, req); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := s.Online(sid)
	if st.LatestState == nil || *st.LatestState != report("PC2Done") {
		t.Fatalf("latest = %+v, want the last report", st.LatestState)
	}
	history, err := s.History(sid)
	if err != nil || len(history) != 3 {
		t.Fatalf("history = %+v, %v", history, err)
	}
	first := history[0]
	if !first.Time.Equal(time.Date(2026, 11, 25, 0, 2, 4, 0, time.UTC)) || first.Time.Location() != time.UTC ||
		first.Worker.Instance != "127.0.0.1" || first.StateChange.Next != "Allocated" || first.Failure != nil {
		t.Fatalf("first entry = %+v", first)
	}
	if h := history[1]; h.StateChange.Prev != "TicketAssigned" || h.Failure == nil || *h.Failure != *failed.Failure {
		t.Fatalf("second entry = %+v", h)
	}
	if h := history[2]; h.StateChange.Next != "PC2Done" || !h.Time.After(history[1].Time) {
		t.Fatalf("third entry = %+v", h)
	}
	if h, err := s.History(abi.SectorID{Miner: miner, Number: 99}); h != nil || err != nil {
		t.Fatalf("history of an unknown sector = %+v, %v", h, err)
	}
}

func TestCallsAboutASectorNotOnlineGiveUnwrapped11001(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		missing := abi.SectorID{Miner: miner, Number: 7}
		finalized := allocate(t, s)
		if err := s.Finalize(finalized); err != nil {
			t.Fatal(err)
		}
		for _, sid := range []abi.SectorID{missing, finalized} {
			_, err := s.Online(sid)
			wantUnwrapped11001(t, "Online", err)
			wantUnwrapped11001(t, "Update", s.Update(sid, func(*api.SectorState) error { return nil }))
			wantUnwrapped11001(t, "ReportState", s.ReportState(sid, report("Allocated")))
			wantUnwrapped11001(t, "Abort", s.Abort(sid, "again"))
		}
		// A repeated Finalize is acknowledged (TestRepeatedFinalizeAndAbortAreAcknowledged); of
		// a sector the manager never had it is still 11001.
		wantUnwrapped11001(t, "Finalize", s.Finalize(missing))
		if h, _ := s.History(missing); h != nil {
			t.Fatalf("a refused report was recorded: %+v", h)
		}
	})
}

// A worker killed after the manager applied its ReportFinalized (or ReportAborted) but before it
// read the reply sends the report again: the repeat is acknowledged and changes nothing, so the
// worker never takes a finished sector for one the manager dropped. Crossed repeats (abort
// after finalize, finalize after abort) are still 11001.
func TestRepeatedFinalizeAndAbortAreAcknowledged(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		fin, ab := allocate(t, s), allocate(t, s)
		if err := s.Finalize(fin); err != nil {
			t.Fatal(err)
		}
		if err := s.Abort(ab, "pc1 failed"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := s.Finalize(fin); err != nil {
				t.Fatalf("repeated Finalize: %v", err)
			}
			if err := s.Abort(ab, "from error code: sector state not found"); err != nil {
				t.Fatalf("repeated Abort: %v", err)
			}
		}
		wantUnwrapped11001(t, "Abort of a finalized sector", s.Abort(fin, "late"))
		wantUnwrapped11001(t, "Finalize of an aborted sector", s.Finalize(ab))

		if st, err := s.Find(api.WorkerOffline, fin); err != nil || !st.Finalized || st.AbortReason != "" {
			t.Errorf("finalized sector after repeats = %+v, %v", st, err)
		}
		if st, err := s.Find(api.WorkerOffline, ab); err != nil || !st.Finalized || st.AbortReason != "pc1 failed" {
			t.Errorf("aborted sector after repeats = %+v, %v (want the first reason kept)", st, err)
		}
		for _, sid := range []abi.SectorID{fin, ab} {
			if _, err := s.Find(api.WorkerOnline, sid); err == nil {
				t.Errorf("sector %v is online again", sid)
			}
		}
	})
}

func TestFinalizeAndAbortMoveOffline(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		fin, ab := allocate(t, s), allocate(t, s)
		if err := s.ReportState(fin, report("Finished")); err != nil {
			t.Fatal(err)
		}
		if err := s.Finalize(fin); err != nil {
			t.Fatal(err)
		}
		if err := s.Abort(ab, "aborted via CLI"); err != nil {
			t.Fatal(err)
		}
		if online, _ := s.List(api.WorkerOnline, api.SectorWorkerJobAll); len(online) != 0 {
			t.Fatalf("online after moves: %s", numbers(online))
		}
		st, err := s.Find(api.WorkerOffline, fin)
		if err != nil || !st.Finalized || st.AbortReason != "" || st.LatestState == nil || st.LatestState.StateChange.Next != "Finished" {
			t.Fatalf("finalized = %+v, %v", st, err)
		}
		st, err = s.Find(api.WorkerOffline, ab)
		if err != nil || !st.Finalized || st.AbortReason != "aborted via CLI" {
			t.Fatalf("aborted = %+v, %v", st, err)
		}
		if h, _ := s.History(fin); len(h) != 1 {
			t.Fatalf("history must outlive the move: %+v", h)
		}
	})
}

func TestFinalizeLeavesUpgradedSectorsOnline(t *testing.T) {
	s := New(statedb.InMemory())
	sid := allocate(t, s)
	if err := s.Update(sid, func(st *api.SectorState) error { st.Upgraded = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Finalize(sid); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Online(sid); err != nil || st.Finalized {
		t.Fatalf("upgraded sector after Finalize = %+v, %v; want still online", st, err)
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	s := New(statedb.InMemory())
	sid := allocate(t, s)
	err := s.Update(sid, func(st *api.SectorState) error {
		st.Ticket = &api.Ticket{Ticket: []byte{1}}
		return fmt.Errorf("refused")
	})
	if err == nil || err.Error() != "refused" {
		t.Fatalf("Update = %v", err)
	}
	if st, _ := s.Online(sid); st.Ticket != nil {
		t.Fatal("a failed update was written")
	}
}

func TestRestore(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		finalized, aborted, withDeals, online := allocate(t, s), allocate(t, s), allocate(t, s), allocate(t, s)
		if err := s.Finalize(finalized); err != nil {
			t.Fatal(err)
		}
		if err := s.Abort(aborted, "pc1 failed"); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(withDeals, func(st *api.SectorState) error {
			st.Pieces = api.Deals{{ID: 5, PayloadSize: 100}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Abort(withDeals, "no space"); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			sid  abi.SectorID
			want string
		}{
			{finalized, "sector is not aborted, can not be normally restored"},
			{withDeals, "sector with deals can not be normally restored"},
			{online, "load state from offline: sector s-t010000-4 not found (only a finalized or aborted sector can be restored)"},
			{abi.SectorID{Miner: miner, Number: 9}, "load state from offline: sector s-t010000-9 not found"},
		} {
			if err := s.Restore(c.sid, false); err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("Restore(%v) = %v, want %q", c.sid, err, c.want)
			}
		}
		if _, err := s.Find(api.WorkerOffline, finalized); err != nil {
			t.Fatal("a refused restore moved the sector")
		}

		if err := s.Restore(aborted, false); err != nil {
			t.Fatal(err)
		}
		st, err := s.Online(aborted)
		if err != nil || st.Finalized || st.AbortReason != "" {
			t.Fatalf("restored = %+v, %v; want online, not finalized, reason cleared", st, err)
		}
		if _, err := s.Find(api.WorkerOffline, aborted); !api.IsSectorStateNotFound(err) {
			t.Fatalf("restored sector still offline: %v", err)
		}

		for _, sid := range []abi.SectorID{finalized, withDeals} {
			if err := s.Restore(sid, true); err != nil {
				t.Fatalf("forced Restore(%v) = %v", sid, err)
			}
		}
		if st, _ := s.Online(withDeals); st.Finalized || st.AbortReason != "no space" || len(st.Pieces) != 1 {
			t.Fatalf("forced restore = %+v; want online with its reason and deals kept", st)
		}
	})
}

func TestListOrderAndFilters(t *testing.T) {
	s := New(statedb.InMemory())
	for i := 0; i < 11; i++ {
		allocate(t, s)
	}
	if err := s.Update(abi.SectorID{Miner: miner, Number: 3}, func(st *api.SectorState) error { st.Upgraded = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		job  api.SectorWorkerJob
		want string
	}{
		{api.SectorWorkerJobAll, "1 10 11 2 3 4 5 6 7 8 9"},
		{api.SectorWorkerJobSealing, "1 10 11 2 4 5 6 7 8 9"},
		{api.SectorWorkerJobSnapUp, "3"},
	} {
		list, err := s.List(api.WorkerOnline, c.job)
		if err != nil || numbers(list) != c.want {
			t.Errorf("List(online, %d) = %s, %v; want %s", c.job, numbers(list), err, c.want)
		}
	}
	if list, err := s.List(api.WorkerOffline, api.SectorWorkerJobAll); list != nil || err != nil {
		t.Errorf("empty offline store = %v, %v", list, err)
	}
	if _, err := s.List("elsewhere", api.SectorWorkerJobAll); err == nil || !strings.Contains(err.Error(), `invalid sector store "elsewhere"`) {
		t.Errorf("bad store: %v", err)
	}
	if _, err := s.List(api.WorkerOnline, 7); err == nil || !strings.Contains(err.Error(), "invalid sector job filter 7") {
		t.Errorf("bad job: %v", err)
	}
}

func TestFindNamesTheSectorAndStore(t *testing.T) {
	s := New(statedb.InMemory())
	sid := allocate(t, s)
	if st, err := s.Find(api.WorkerOnline, sid); err != nil || st.ID != sid {
		t.Fatalf("Find(online) = %+v, %v", st, err)
	}
	_, err := s.Find(api.WorkerOffline, sid)
	if !api.IsSectorStateNotFound(err) || err.Error() != "sector s-t010000-1 not found in the offline store" {
		t.Fatalf("Find(offline) = %v", err)
	}
}

// Entries are kept in report order however many there are (zero-padded keys sort as numbers),
// and on disk as in memory.
func TestHistoryKeepsOrderPastTenEntries(t *testing.T) {
	db, err := statedb.OpenHome(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, backend := range []statedb.DB{statedb.InMemory(), db} {
		s := New(backend)
		sid := allocate(t, s)
		for i := 0; i < 23; i++ {
			if err := s.ReportState(sid, report(fmt.Sprintf("S%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		history, err := s.History(sid)
		if err != nil || len(history) != 23 {
			t.Fatalf("history: %d entries, %v", len(history), err)
		}
		for i, h := range history {
			if want := fmt.Sprintf("S%02d", i); h.StateChange.Next != want {
				t.Fatalf("entry %d = %s, want %s", i, h.StateChange.Next, want)
			}
		}
	}
}

// A report's strings are capped before they are kept: Failure.Desc at 64 KiB, the rest at 1 KiB,
// cut at a character boundary and marked, in the latest state and in the history alike.
func TestReportStateCapsItsSize(t *testing.T) {
	s := New(statedb.InMemory())
	sid := allocate(t, s)
	req := report("PC1Done")
	req.Worker.Instance = strings.Repeat("w", 5000)
	req.Failure = &api.SectorFailure{Level: "Temporary", Desc: strings.Repeat("é", 50<<10)} // 100 KiB of 2-byte runes
	if err := s.ReportState(sid, req); err != nil {
		t.Fatal(err)
	}
	history, err := s.History(sid)
	if err != nil || len(history) != 1 {
		t.Fatalf("history = %+v, %v", history, err)
	}
	st, _ := s.Online(sid)
	for where, got := range map[string]struct{ instance, desc string }{
		"history": {history[0].Worker.Instance, history[0].Failure.Desc},
		"latest":  {st.LatestState.Worker.Instance, st.LatestState.Failure.Desc},
	} {
		wantInstance := strings.Repeat("w", 1024-len("… [5000 bytes cut]")) + "… [5000 bytes cut]"
		if got.instance != wantInstance {
			t.Errorf("%s: instance of %d bytes: %q…", where, len(got.instance), got.instance[len(got.instance)-30:])
		}
		marker := "… [102400 bytes cut]"
		wantDesc := strings.Repeat("é", (65536-len(marker))/2) + marker
		if got.desc != wantDesc || len(got.desc) > MaxFailureDesc || !utf8.ValidString(got.desc) {
			t.Errorf("%s: desc of %d bytes, ends %q", where, len(got.desc), got.desc[len(got.desc)-30:])
		}
	}
	if req.Failure.Desc != strings.Repeat("é", 50<<10) {
		t.Error("the caller's request was changed")
	}
	// A short report is kept as it is.
	if err := s.ReportState(sid, report("PC2Done")); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(sid); h[1].Worker != report("PC2Done").Worker || h[1].StateChange != report("PC2Done").StateChange {
		t.Errorf("short report = %+v", h[1])
	}
}

// The counter is what keeps a number from being handed out twice once its sector's state is gone
// (a sector removed, a state store restored from a backup): it is stored with every allocation.
func TestCounterIsStoredWithEachAllocation(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		allocate(t, s)
		allocate(t, s)
		raw, err := s.db.Get("sector-number//m-10000")
		if err != nil || string(raw) != "\x02" {
			t.Fatalf("stored counter = %q, %v; want uvarint 2", raw, err)
		}
		// The states go; the numbers stay taken.
		err = s.db.Update(func(tx statedb.Txn) error {
			for n := 1; n <= 2; n++ {
				if err := tx.Delete(onlinePrefix + Key(abi.SectorID{Miner: miner, Number: abi.SectorNumber(n)})); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next := allocate(t, s); next.Number != 3 {
			t.Fatalf("next number after the states went = %d, want 3", next.Number)
		}
	})
}
