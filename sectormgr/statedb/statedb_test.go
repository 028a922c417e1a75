package statedb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
)

// both runs a test against the in-memory database and the one of a home, so the mock behaves the
// same with and without --home.
func both(t *testing.T, test func(t *testing.T, db DB)) {
	t.Run("memory", func(t *testing.T) { test(t, InMemory()) })
	t.Run("home", func(t *testing.T) {
		db, err := OpenHome(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		test(t, db)
	})
}

func put(t *testing.T, db DB, kv ...string) {
	t.Helper()
	err := db.Update(func(tx Txn) error {
		for i := 0; i < len(kv); i += 2 {
			if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func scan(t *testing.T, db DB, prefix string) string {
	t.Helper()
	var out []string
	err := db.Scan(prefix, func(k string, v []byte) error {
		out = append(out, k+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func TestGetPutScanInKeyOrder(t *testing.T) {
	both(t, func(t *testing.T, db DB) {
		if _, err := db.Get("a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing key: %v", err)
		}
		put(t, db, "s/m-1-n-2", "b", "s/m-1-n-10", "a", "s/m-1-n-1", "c", "t/x", "other", "s", "bare")
		if got := scan(t, db, "s/"); got != "s/m-1-n-1=c s/m-1-n-10=a s/m-1-n-2=b" {
			t.Fatalf("scan = %s", got)
		}
		if v, err := db.Get("t/x"); err != nil || string(v) != "other" {
			t.Fatalf("get = %q, %v", v, err)
		}
		put(t, db, "s", "") // an empty value is a value, not a deletion
		if v, err := db.Get("s"); err != nil || len(v) != 0 {
			t.Fatalf("empty value = %q, %v", v, err)
		}
	})
}

func TestUpdateIsAllOrNothing(t *testing.T) {
	both(t, func(t *testing.T, db DB) {
		put(t, db, "online/1", "state", "counter", "1")
		boom := errors.New("boom")
		err := db.Update(func(tx Txn) error {
			_ = tx.Delete("online/1")
			_ = tx.Put("offline/1", []byte("state"))
			_ = tx.Put("counter", []byte("2"))
			if v, err := tx.Get("counter"); err != nil || string(v) != "2" {
				t.Errorf("a transaction must see its own writes: %q, %v", v, err)
			}
			if _, err := tx.Get("online/1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a transaction must see its own deletes: %v", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if got := scan(t, db, ""); got != "counter=1 online/1=state" {
			t.Fatalf("after rollback: %s", got)
		}

		err = db.Update(func(tx Txn) error {
			if err := tx.Delete("online/1"); err != nil {
				return err
			}
			return tx.Put("offline/1", []byte("state"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := scan(t, db, ""); got != "counter=1 offline/1=state" {
			t.Fatalf("after commit: %s", got)
		}
	})
}

func TestValuesAreCopies(t *testing.T) {
	both(t, func(t *testing.T, db DB) {
		put(t, db, "k", "abc")
		v, _ := db.Get("k")
		v[0] = 'X'
		if again, _ := db.Get("k"); string(again) != "abc" {
			t.Fatalf("changing a returned value changed the store: %q", again)
		}
	})
}

func TestHomePersistsAndLocks(t *testing.T) {
	home := t.TempDir()
	db, err := OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "sector-number//m-10000", "\x05")
	if _, err := OpenHome(home); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open of a home = %v, want a lock error", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get("sector-number//m-10000"); err != nil || string(v) != "\x05" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}

// Concurrent updates commit together on disk (group commit); each must still see the changes
// committed before it and fail alone.
func TestConcurrentUpdatesAreIsolated(t *testing.T) {
	both(t, func(t *testing.T, db DB) {
		const n = 60
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Update(func(tx Txn) error {
					raw, err := tx.Get("counter")
					var count uint64
					if err == nil {
						count, _ = binary.Uvarint(raw)
					} else if !errors.Is(err, ErrNotFound) {
						return err
					}
					if err := tx.Put("counter", binary.AppendUvarint(nil, count+1)); err != nil {
						return err
					}
					if err := tx.Put(fmt.Sprintf("k/%02d", i), []byte("x")); err != nil {
						return err
					}
					if i%3 == 0 {
						return fmt.Errorf("refused %d", i)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%3 == 0) != (err != nil) || (err != nil && err.Error() != fmt.Sprintf("refused %d", i)) {
				t.Fatalf("update %d returned %v", i, err)
			}
		}
		raw, err := db.Get("counter")
		if count, _ := binary.Uvarint(raw); err != nil || count != n-n/3 {
			t.Fatalf("counter = %d, %v; want %d (every successful update, none of the refused)", count, err, n-n/3)
		}
		var keys []string
		_ = db.Scan("k/", func(k string, _ []byte) error { keys = append(keys, k); return nil })
		if len(keys) != n-n/3 || strings.Contains(strings.Join(keys, " "), "k/03") {
			t.Fatalf("keys = %v", keys)
		}
	})
}

// A panic in one Update's callback is that Update's error, drops its changes alone, and leaves
// the database usable: later updates (and those queued behind it) commit.
func TestPanicInUpdateIsAnErrorAndReleasesTheDB(t *testing.T) {
	both(t, func(t *testing.T, db DB) {
		put(t, db, "k", "before")
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("the panic reached the caller of Update: %v", r)
				}
			}()
			err = db.Update(func(tx Txn) error {
				tx.Put("k", []byte("half"))
				panic("boom")
			})
		}()
		if err == nil || err.Error() != "state update panicked (its changes were dropped): boom" {
			t.Fatalf("Update = %v", err)
		}

		done := make(chan error, 8)
		for i := 0; i < cap(done); i++ {
			go func() {
				done <- db.Update(func(tx Txn) error { return tx.Put(fmt.Sprintf("after/%d", i), []byte("x")) })
			}()
		}
		deadline := time.After(10 * time.Second)
		for i := 0; i < cap(done); i++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("update after the panic: %v", err)
				}
			case <-deadline:
				t.Fatalf("updates after a panic hang: %d of %d returned", i, cap(done))
			}
		}
		if v, err := db.Get("k"); err != nil || string(v) != "before" {
			t.Fatalf("k = %q, %v; want the value from before the panicking update", v, err)
		}
		if got := scan(t, db, "after/"); strings.Count(got, "=x") != cap(done) {
			t.Fatalf("after/ = %s", got)
		}
	})
}

// The manager's state (sector states, deals, the registry) is private to its user.
func TestHomeMetaIsPrivate(t *testing.T) {
	home := t.TempDir()
	db, err := OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for path, want := range map[string]os.FileMode{
		filepath.Join(home, MetaDir):                   0o700,
		filepath.Join(home, MetaDir, kvstore.FileName): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
}
