package proxy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/internal/fakeworker"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

func registered(t *testing.T, workers map[string]string) *registry.Registry {
	t.Helper()
	r := registry.New(statedb.InMemory())
	for name, dest := range workers {
		if err := r.Ping(api.WorkerInfo{Name: name, Dest: dest}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Only registered names resolve, to their Dest; an address or an unknown name is refused with
// one line naming it and saying that the worker must ping first.
func TestResolveDest(t *testing.T) {
	p := New(registered(t, map[string]string{"w1": "10.0.0.1:17891", "127.0.0.1": "127.0.0.1:20000"}))
	for _, c := range []struct{ in, want string }{
		{"w1", "10.0.0.1:17891"},         // registered name: its Dest verbatim
		{"127.0.0.1", "127.0.0.1:20000"}, // a name that looks like an IP (a worker's default name)
	} {
		got, err := p.ResolveDest(c.in)
		if err != nil || got != c.want {
			t.Errorf("ResolveDest(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	const ping = ": the worker must ping first (start it; its name is in util worker list after its first ping)"
	for in, want := range map[string]string{
		"no such worker":  `resolve worker dest: no worker named "no such worker" has pinged this manager` + ping,
		"10.0.0.1:17891":  `resolve worker dest: "10.0.0.1:17891" is an address, and the manager calls registered workers only, by name` + ping,
		"10.0.0.2":        `resolve worker dest: "10.0.0.2" is an address, and the manager calls registered workers only, by name` + ping,
		"[::1]:22":        `resolve worker dest: "[::1]:22" is an address, and the manager calls registered workers only, by name` + ping,
		"evil.example:80": `resolve worker dest: "evil.example:80" is an address, and the manager calls registered workers only, by name` + ping,
	} {
		if got, err := p.ResolveDest(in); err == nil || err.Error() != want || got != "" {
			t.Errorf("ResolveDest(%q) = %q, %v\nwant %s", in, got, err, want)
		}
	}
}

// An address is never called, even the Dest of a registered worker: nothing reaches a listener
// that a caller names.
func TestAddressesAreNeverCalled(t *testing.T) {
	w, addr := fakeworker.Start(t, api.WorkerThreadInfo{Index: 0, Location: "/store1", State: "Empty"})
	p := New(registered(t, map[string]string{"w1": addr}))
	ctx := context.Background()
	if _, err := p.List(ctx, addr); err == nil || !strings.Contains(err.Error(), "is an address") {
		t.Errorf("List(%s) = %v", addr, err)
	}
	if _, err := p.Pause(ctx, addr, 0); err == nil {
		t.Error("Pause by address succeeded")
	}
	if _, err := p.Resume(ctx, addr, 0, nil); err == nil {
		t.Error("Resume by address succeeded")
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("the worker received %v", calls)
	}
}

func TestCallsReachTheRegisteredWorker(t *testing.T) {
	elapsed := uint64(822)
	w, addr := fakeworker.Start(t,
		api.WorkerThreadInfo{Index: 0, Location: "/store1", State: "Empty"},
		api.WorkerThreadInfo{Index: 1, Location: "/store2", SectorID: &abi.SectorID{Miner: 10000, Number: 2}, Paused: true,
			PausedElapsed: &elapsed, State: "C1Done", LastError: ptr("permanent: no params")})
	p := New(registered(t, map[string]string{"w1": addr}))
	ctx := context.Background()

	threads, err := p.List(ctx, "w1")
	if err != nil || len(threads) != 2 || *threads[1].PausedElapsed != 822 || *threads[1].LastError != "permanent: no params" {
		t.Fatalf("List = %+v, %v", threads, err)
	}
	if ok, err := p.Pause(ctx, "w1", 0); !ok || err != nil {
		t.Fatalf("Pause(0) = %v, %v", ok, err)
	}
	if ok, err := p.Pause(ctx, "w1", 0); ok || err != nil {
		t.Fatalf("second Pause(0) = %v, %v; want false (already paused)", ok, err)
	}
	if ok, err := p.Resume(ctx, "w1", 1, ptr("PC1Done")); !ok || err != nil {
		t.Fatalf("Resume(1, PC1Done) = %v, %v", ok, err)
	}
	if ok, err := p.Resume(ctx, "w1", 0, nil); !ok || err != nil {
		t.Fatalf("Resume(0, nil) = %v, %v", ok, err)
	}
	want := "WorkerList|WorkerPause 0|WorkerPause 0|WorkerResume 1 PC1Done|WorkerResume 0 null"
	if got := strings.Join(w.Calls(), "|"); got != want {
		t.Fatalf("worker received %s, want %s", got, want)
	}
	if th := w.Threads(); th[1].State != "PC1Done" || th[1].Paused || th[0].Paused {
		t.Fatalf("threads after resume: %+v", th)
	}
}

func TestWorkerErrorsKeepCodeAndMessage(t *testing.T) {
	_, addr := fakeworker.Start(t, api.WorkerThreadInfo{Index: 0, Location: "/store1", State: "Empty", Paused: true})
	p := New(registered(t, map[string]string{"w1": addr}))
	ctx := context.Background()

	_, err := p.Resume(ctx, "w1", 0, ptr("Foo"))
	if code, _ := api.ErrorCode(err); code != api.ErrCodeInvalidParams || err.Error() != `worker "w1" at `+addr+`: invalid state Foo` {
		t.Fatalf("Resume(Foo) = %v (code %d)", err, code)
	}
	_, err = p.Pause(ctx, "w1", 9)
	if code, _ := api.ErrorCode(err); code != api.ErrCodeInvalidParams || err.Error() != `worker "w1" at `+addr+`: worker #9 not found` {
		t.Fatalf("Pause(9) = %v (code %d)", err, code)
	}
}

func TestUnreachableWorkerIsNamed(t *testing.T) {
	down := closedAddr(t)
	p := New(registered(t, map[string]string{"w1": down}))
	for name, call := range map[string]func() error{
		"list":   func() error { _, err := p.List(context.Background(), "w1"); return err },
		"pause":  func() error { _, err := p.Pause(context.Background(), "w1", 0); return err },
		"resume": func() error { _, err := p.Resume(context.Background(), "w1", 0, nil); return err },
	} {
		err := call()
		want := `worker "w1" at ` + down + ` is unreachable (is it running, with its admin api on that address?): dial tcp ` + down + `: connect: connection refused`
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", name, err, want)
		}
		if _, coded := api.ErrorCode(err); coded {
			t.Errorf("%s: an unreachable worker must not look like a worker's answer", name)
		}
	}
	_, err := p.List(context.Background(), "w2")
	if err == nil || !strings.HasPrefix(err.Error(), `resolve worker dest: no worker named "w2" has pinged this manager: the worker must ping first`) {
		t.Errorf("unknown worker: %v", err)
	}
}

func TestHungWorkerTimesOut(t *testing.T) {
	w, addr := fakeworker.Start(t, api.WorkerThreadInfo{Index: 0})
	w.Block = make(chan struct{})
	defer close(w.Block)
	p := New(registered(t, map[string]string{"w1": addr})).WithTimeout(50 * time.Millisecond)
	_, err := p.List(context.Background(), "w1")
	if err == nil || err.Error() != `worker "w1" at `+addr+` did not answer WorkerList within 50ms` {
		t.Fatalf("List of a hung worker = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
