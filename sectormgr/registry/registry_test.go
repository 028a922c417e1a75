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
		// An escape sequence would colour util worker list and forge rows.
		{api.WorkerInfo{Name: "w1\x1b[31m\nfake  10.0.0.9:1", Dest: "127.0.0.1:17890"},
			`invalid worker name "w1\x1b[31m\nfake  10.0.0.9:1": control characters are not accepted`},
		{api.WorkerInfo{Name: "w1", Dest: "127.0.0.1:17890\r"}, `invalid worker dest "127.0.0.1:17890\r": control characters are not accepted`},
		{api.WorkerInfo{Name: "w\u0085", Dest: "127.0.0.1:17890"}, `invalid worker name "w\u0085": control characters are not accepted`},
		{api.WorkerInfo{Name: "w\xff", Dest: "127.0.0.1:17890"}, `invalid worker name "w\xff": not UTF-8`},
		{api.WorkerInfo{Name: strings.Repeat("n", 129), Dest: "127.0.0.1:17890"},
			`invalid worker name "` + strings.Repeat("n", 128) + `…": 129 bytes, at most 128 are accepted`},
		{api.WorkerInfo{Name: "w1", Dest: strings.Repeat("1", 124) + ":17890"},
			`invalid worker dest "` + strings.Repeat("1", 124) + `:178…": 130 bytes, at most 128 are accepted`},
		{api.WorkerInfo{Name: "w1", Dest: "10.0.0.1"}, `invalid worker dest "10.0.0.1": want host:port, the address of the worker's admin api`},
		{api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:http"}, `invalid worker dest "10.0.0.1:http": want host:port, the address of the worker's admin api`},
		{api.WorkerInfo{Name: "w1", Dest: "evil.example/x:80"}, `invalid worker dest "evil.example/x:80": want host:port, the address of the worker's admin api`},
		{api.WorkerInfo{Name: "w1", Dest: ":17890"}, `invalid worker dest ":17890": want host:port, the address of the worker's admin api`},
	} {
		if err := r.Ping(c.info); err == nil || err.Error() != c.want {
			t.Errorf("Ping(%+v) = %v, want %q", c.info, err, c.want)
		}
	}
	if list, _ := r.List(); len(list) != 0 {
		t.Fatalf("invalid pings were stored: %+v", list)
	}
	// The longest accepted, and names of any script.
	for _, info := range []api.WorkerInfo{
		{Name: strings.Repeat("n", 128), Dest: "[fe80::1]:17890"},
		{Name: "工作机-1", Dest: "worker-1.lan:17890"},
	} {
		if err := r.Ping(info); err != nil {
			t.Errorf("Ping(%+v) = %v", info, err)
		}
	}
}

// A name is bound to the token of its first ping: another token (or none) cannot take it over,
// the owner keeps pinging, a tokenless registration is claimed by the first token, and Remove
// frees the name. The binding survives a restart.
func TestNameIsBoundToTheFirstToken(t *testing.T) {
	home := t.TempDir()
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	r := New(db)
	w1 := api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"}
	taken := `worker name "w1" is registered by another token: a name stays bound to the token of its first ping; ` +
		`ping with that token, give this worker another worker.name, or remove the name (util worker remove w1)`
	if err := r.PingFrom(w1, "token-a"); err != nil {
		t.Fatal(err)
	}
	hijack := api.WorkerInfo{Name: "w1", Dest: "10.6.6.6:17890"}
	for _, caller := range []string{"token-b", ""} {
		if err := r.PingFrom(hijack, caller); err == nil || err.Error() != taken {
			t.Errorf("ping of w1 by %q = %v", caller, err)
		}
	}
	moved := api.WorkerInfo{Name: "w1", Dest: "10.0.0.5:17890"}
	if err := r.PingFrom(moved, "token-a"); err != nil {
		t.Errorf("the owner's ping from a new address: %v", err)
	}
	db.Close()

	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r = New(db)
	if err := r.PingFrom(hijack, "token-b"); err == nil || err.Error() != taken {
		t.Errorf("after a restart, ping of w1 by another token = %v", err)
	}
	if p, _ := r.Get("w1"); p == nil || p.Info.Dest != "10.0.0.5:17890" {
		t.Errorf("w1 = %+v, want the owner's address", p)
	}
	if err := r.Remove("w1"); err != nil {
		t.Fatal(err)
	}
	if err := r.PingFrom(hijack, "token-b"); err != nil {
		t.Errorf("ping of a removed name: %v", err)
	}

	// Tokenless workers share no identity to bind; the first token claims the name.
	if err := r.Ping(api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(api.WorkerInfo{Name: "w2", Dest: "10.0.0.3:17890"}); err != nil {
		t.Errorf("tokenless ping of a tokenless name: %v", err)
	}
	if err := r.PingFrom(api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890"}, "token-c"); err != nil {
		t.Errorf("first token on a tokenless name: %v", err)
	}
	if err := r.Ping(api.WorkerInfo{Name: "w2", Dest: "10.0.0.3:17890"}); err == nil || !strings.HasPrefix(err.Error(), `worker name "w2" is registered by another token`) {
		t.Errorf("tokenless ping of a bound name: %v", err)
	}
}

// The stored form keeps the ping as the wire has it, with the owner beside it.
func TestStoredEntryJSON(t *testing.T) {
	db := statedb.InMemory()
	r := New(db, WithClock(func() time.Time { return time.Unix(1700000000, 0) }))
	if err := r.PingFrom(api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890", Version: "v1"}, "ab12"); err != nil {
		t.Fatal(err)
	}
	raw, err := db.Get("worker/w1")
	want := `{"Info":{"Name":"w1","Dest":"10.0.0.1:17890","Version":"v1","Summary":{"Threads":0,"Empty":0,"Paused":0,"Running":0,"Waiting":0,"Errors":0}},"LastPing":1700000000,"Owner":"ab12"}`
	if err != nil || string(raw) != want {
		t.Errorf("stored = %s, %v\nwant   %s", raw, err, want)
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
