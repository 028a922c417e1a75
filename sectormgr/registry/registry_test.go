package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func names(list []api.WorkerPingInfo) string {
	var out []string
	for _, p := range list {
		out = append(out, p.Info.Name)
	}
	return strings.Join(out, " ")
}

func TestPingValidation(t *testing.T) {
	r := New(statedb.InMemory())
	for _, c := range []struct {
		info api.WorkerInfo
		want string
	}{
		{api.WorkerInfo{Dest: "127.0.0.1:17890"}, "worker name is required"},
		{api.WorkerInfo{Name: "w1"}, "worker dest is required"},
	} {
		if err := r.Ping(c.info); err == nil || err.Error() != c.want {
			t.Errorf("Ping(%+v) = %v, want %q", c.info, err, c.want)
		}
	}
	if list, _ := r.List(); len(list) != 0 {
		t.Fatalf("invalid pings were stored: %+v", list)
	}
}

func TestPingOverwritesAndStampsManagerClock(t *testing.T) {
	c := &clock{time.Unix(1700000000, 900_000_000)}
	r := New(statedb.InMemory(), WithClock(c.now))
	first := api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890", Summary: api.WorkerInfoSummary{Threads: 1}}
	latest := api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17891", Version: "v1", Summary: api.WorkerInfoSummary{Threads: 3, Paused: 1, Running: 2}}
	if err := r.Ping(first); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	if err := r.Ping(latest); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get("w2")
	if err != nil || got == nil || got.Info != latest || got.LastPing != 1700000060 {
		t.Fatalf("Get(w2) = %+v, %v; want the latest ping at 1700000060 (whole seconds)", got, err)
	}
	if got, err := r.Get("nobody"); got != nil || err != nil {
		t.Fatalf("Get(nobody) = %+v, %v; want nil, nil", got, err)
	}
}

func TestListSortedByNameAndRemove(t *testing.T) {
	r := New(statedb.InMemory())
	for _, name := range []string{"w2", "w10", "w1", "10.0.0.1", "W"} {
		if err := r.Ping(api.WorkerInfo{Name: name, Dest: name + ":17890"}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := r.List()
	if err != nil || names(list) != "10.0.0.1 W w1 w10 w2" {
		t.Fatalf("List = %s, %v; want byte order of names", names(list), err)
	}

	if err := r.Remove("w10"); err != nil {
		t.Fatal(err)
	}
	if list, _ := r.List(); names(list) != "10.0.0.1 W w1 w2" {
		t.Fatalf("after remove: %s", names(list))
	}
	err = r.Remove("w10")
	if err == nil || !strings.HasPrefix(err.Error(), `worker info not found: no worker named "w10"`) {
		t.Fatalf("Remove(unknown) = %v", err)
	}
}

func TestRegistrySurvivesReopen(t *testing.T) {
	home := t.TempDir()
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := New(db).Ping(api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if list, err := New(db).List(); err != nil || names(list) != "w1" || list[0].Info.Dest != "10.0.0.1:17890" {
		t.Fatalf("after reopen: %+v, %v", list, err)
	}
}

func TestExpiredIsStrictlyLonger(t *testing.T) {
	p := api.WorkerPingInfo{LastPing: 1700000000}
	at := time.Unix(1700000000, 0)
	if got := Since(p, at.Add(2756922465)); got != 2756922465 {
		t.Fatalf("Since = %v", got)
	}
	if Expired(p, at.Add(DefaultExpiration), DefaultExpiration) {
		t.Fatal("exactly the expiration is not expired")
	}
	if !Expired(p, at.Add(DefaultExpiration+time.Nanosecond), DefaultExpiration) {
		t.Fatal("longer than the expiration must be expired")
	}
}

// A ping is soft state: a worker's first ping is stored before the call returns, refreshed
// stamps at most flushInterval later, and a removal at once.
func TestPingsAreWrittenThroughOnceAndBatchedAfter(t *testing.T) {
	db, err := statedb.OpenHome(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	r := New(db, WithClock(clock))
	w := api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"}
	stored := func() *api.WorkerPingInfo {
		p, err := New(db, WithClock(clock)).Get("w1") // a restarted manager reads the store
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := r.Ping(w); err != nil {
		t.Fatal(err)
	}
	if p := stored(); p == nil || p.LastPing != 1000 {
		t.Fatalf("first ping not written through: %+v", p)
	}
	now = now.Add(time.Second)
	r.Ping(w)
	if p, _ := r.Get("w1"); p.LastPing != 1001 {
		t.Fatalf("served stamp = %d, want 1001", p.LastPing)
	}
	if p := stored(); p.LastPing != 1000 {
		t.Fatalf("a refresh within flushInterval was written: %+v", p)
	}
	now = now.Add(flushInterval)
	r.Ping(w)
	if p := stored(); p.LastPing != now.Unix() {
		t.Fatalf("stamp not flushed after flushInterval: %+v", p)
	}
	moved := w
	moved.Dest = "10.0.0.2:17890"
	now = now.Add(time.Second)
	r.Ping(moved)
	if p := stored(); p.Info.Dest != moved.Dest {
		t.Fatalf("a new address must be written through: %+v", p)
	}
	if err := r.Remove("w1"); err != nil {
		t.Fatal(err)
	}
	if p := stored(); p != nil {
		t.Fatalf("removed worker still stored: %+v", p)
	}
}
