package command

import (
	"bytes"
	"context"

	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/internal/fakeworker"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// t0 is the manager's clock in these tests; the CLI's clock is set relative to it.
var t0 = time.Unix(1700000000, 0)

// testClock is a settable clock shared by the mock (ping stamps, history) and the CLI.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// cliAt makes the CLI read its clock at t until the test ends.
func cliAt(t *testing.T, at time.Time) {
	t.Helper()
	now = func() time.Time { return at }
	t.Cleanup(func() { now = time.Now })
}

// startUtilManager serves a 2KiB mock for miner 10000 with the manager clock clk on a free local
// port until the test ends, and returns its address and a client.
func startUtilManager(t testing.TB, clk *testClock) (string, *api.ManagerClient) {
	t.Helper()
	m, err := mock.New(10000, 2<<10, mock.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.New(m)) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	addr := ln.Addr().String()
	c, closer, err := api.NewManagerClient(context.Background(), "http://"+addr+api.ManagerRPCPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return addr, c
}

type cmdResult struct {
	stdout, stderr string
	code           int
}

// util runs `venus-sector-manager util --listen addr args...` in-process.
func util(t testing.TB, addr string, args ...string) cmdResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	argv := append([]string{"venus-sector-manager", "util", "--listen", addr}, args...)
	code := run(context.Background(), argv, &stdout, &stderr)
	return cmdResult{stdout.String(), stderr.String(), code}
}

// mustUtil runs a util command that must succeed and returns its stdout.
func mustUtil(t *testing.T, addr string, args ...string) string {
	t.Helper()
	r := util(t, addr, args...)
	if r.code != 0 {
		t.Fatalf("util %s: status %d, stderr %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// wantError checks that a util command failed with exactly one stderr line, the given one.
func wantError(t *testing.T, r cmdResult, line string) {
	t.Helper()
	if r.code != 1 || r.stderr != line+"\n" {
		t.Errorf("status %d stderr %q\nwant 1 and %q", r.code, r.stderr, line+"\n")
	}
}

func ping(t *testing.T, c *api.ManagerClient, info api.WorkerInfo) {
	t.Helper()
	if err := c.WorkerPing(context.Background(), info); err != nil {
		t.Fatal(err)
	}
}

func TestUtilWorkerListAsTheSeedShows(t *testing.T) {
	clk := &testClock{t: t0}
	addr, c := startUtilManager(t, clk)
	cliAt(t, t0.Add(2756922465))

	if out := mustUtil(t, addr, "worker", "list"); out != "Name  Dest  Threads  Empty  Paused  Errors  LastPing(with ! if expired)\n" {
		t.Fatalf("empty registry:\n%q", out)
	}

	ping(t, c, api.WorkerInfo{Name: "127.0.0.1", Dest: "127.0.0.1:17890", Summary: api.WorkerInfoSummary{Threads: 3, Empty: 0, Paused: 3, Errors: 3}})
	want := "" +
		"Name       Dest             Threads  Empty  Paused  Errors  LastPing(with ! if expired)\n" +
		"127.0.0.1  127.0.0.1:17890  3        0      3       3       2.756922465s\n"
	if out := mustUtil(t, addr, "worker", "list"); out != want {
		t.Fatalf("seed example:\n%s\nwant\n%s", out, want)
	}
}

func TestUtilWorkerListOrderAndExpiry(t *testing.T) {
	clk := &testClock{t: t0}
	addr, c := startUtilManager(t, clk)
	// An original worker (no Version, Running, Waiting) and ours, pinging at different times.
	ping(t, c, api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890", Summary: api.WorkerInfoSummary{Threads: 12, Empty: 10, Errors: 1}})
	clk.set(t0.Add(9 * time.Minute))
	ping(t, c, api.WorkerInfo{Name: "w10", Dest: "10.0.0.10:17890", Version: "v0.5.0",
		Summary: api.WorkerInfoSummary{Threads: 1, Paused: 1, Running: 0}})
	clk.set(t0.Add(11 * time.Minute))
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: "[fe80::1]:17890", Summary: api.WorkerInfoSummary{Threads: 2, Running: 2}})
	cliAt(t, t0.Add(12*time.Minute+3*time.Second+812000))

	want := "" +
		"Name  Dest             Threads  Empty  Paused  Errors  LastPing(with ! if expired)\n" +
		"w1    [fe80::1]:17890  2        0      0       0       1m3.000812s\n" +
		"w10   10.0.0.10:17890  1        0      1       0       3m3.000812s\n" +
		"w2    10.0.0.2:17890   12       10     0       1       12m3.000812s (!)\n"
	if out := mustUtil(t, addr, "worker", "list"); out != want {
		t.Fatalf("default expiration:\n%s\nwant\n%s", out, want)
	}
	out := mustUtil(t, addr, "worker", "list", "--expiration", "2m")
	if !strings.Contains(out, "1m3.000812s\n") || !strings.Contains(out, "3m3.000812s (!)\n") {
		t.Fatalf("--expiration 2m:\n%s", out)
	}
}

// seedThreads are the threads of the seed's `util worker info 127.0.0.1` example.
func seedThreads() []api.WorkerThreadInfo {
	const lastErr = "permanent: No cached parameters found for stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f [failure finding /var/tmp/filecoin-proof-parameters/v28-stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f.params]"
	var threads []api.WorkerThreadInfo
	for i, num := range []abi.SectorNumber{2, 3, 1} {
		elapsed, msg := uint64(822), lastErr
		threads = append(threads, api.WorkerThreadInfo{
			Index:         i,
			Location:      "/home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store" + string(rune('1'+i)),
			SectorID:      &abi.SectorID{Miner: 10000, Number: num},
			Paused:        true,
			PausedElapsed: &elapsed,
			State:         "C1Done",
			LastError:     &msg,
		})
	}
	return threads
}

const seedInfo = "" +
	"Index  Loc                                                                             SectorID     Paused  PausedElapsed  State   LastErr\n" +
	"0      /home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store1  s-t010000-2  true    13m42s         C1Done  permanent: No cached parameters found for stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f [failure finding /var/tmp/filecoin-proof-parameters/v28-stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f.params]\n" +
	"1      /home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store2  s-t010000-3  true    13m42s         C1Done  permanent: No cached parameters found for stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f [failure finding /var/tmp/filecoin-proof-parameters/v28-stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f.params]\n" +
	"2      /home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store3  s-t010000-1  true    13m42s         C1Done  permanent: No cached parameters found for stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f [failure finding /var/tmp/filecoin-proof-parameters/v28-stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f.params]\n"

func TestUtilWorkerInfoAsTheSeedShows(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	_, workerAddr := fakeworker.Start(t, seedThreads()...)
	// The worker is registered under its IP, as a worker without [worker].name is.
	ping(t, c, api.WorkerInfo{Name: "127.0.0.1", Dest: workerAddr})
	if out := mustUtil(t, addr, "worker", "info", "127.0.0.1"); out != seedInfo {
		t.Fatalf("seed example:\n%s\nwant\n%s", out, seedInfo)
	}
	// Not by its address: the manager calls registered workers only.
	wantError(t, util(t, addr, "worker", "info", workerAddr), `ERROR: rpc WorkerList: resolve worker dest: "`+workerAddr+
		`" is an address, and the manager calls registered workers only, by name: the worker must ping first (start it; its name is in util worker list after its first ping)`)
}

func TestUtilWorkerInfoNullsAndEmpty(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	_, idle := fakeworker.Start(t,
		api.WorkerThreadInfo{Index: 0, Location: "/s1", State: "Empty"},
		api.WorkerThreadInfo{Index: 1, Location: "/s2", SectorID: &abi.SectorID{Miner: 10000, Number: 12}, State: "PC1Done"})
	_, empty := fakeworker.Start(t)
	ping(t, c, api.WorkerInfo{Name: "idle", Dest: idle})
	ping(t, c, api.WorkerInfo{Name: "empty", Dest: empty})

	want := "" +
		"Index  Loc  SectorID      Paused  PausedElapsed  State    LastErr\n" +
		"0      /s1  NULL          false   NULL           Empty    NULL\n" +
		"1      /s2  s-t010000-12  false   NULL           PC1Done  NULL\n"
	if out := mustUtil(t, addr, "worker", "info", "idle"); out != want {
		t.Fatalf("NULLs:\n%s\nwant\n%s", out, want)
	}
	if out := mustUtil(t, addr, "worker", "info", "empty"); out != "" {
		t.Fatalf("a worker without threads prints nothing, got %q", out)
	}
}

func TestUtilWorkerPauseResume(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	w, workerAddr := fakeworker.Start(t,
		api.WorkerThreadInfo{Index: 0, Location: "/s1", SectorID: &abi.SectorID{Miner: 10000, Number: 1}, State: "PC1Done"})
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: workerAddr})
	logged := func(r cmdResult, msg string, fields string) {
		t.Helper()
		if r.code != 0 || !strings.Contains(r.stderr, "\tINFO\tcmd\t"+msg+"\t"+fields+"\n") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("status %d stderr %q; want one log line %q %s", r.code, r.stderr, msg, fields)
		}
	}

	r := util(t, addr, "worker", "pause", "w1", "0")
	logged(r, "pause call done, ok = true", `{"name": "w1", "dest": "`+workerAddr+`", "index": 0}`)
	if out := mustUtil(t, addr, "worker", "info", "w1"); !strings.Contains(out, "s-t010000-1  true    0s             PC1Done") {
		t.Fatalf("info after pause:\n%s", out)
	}
	logged(util(t, addr, "worker", "pause", "w1", "0"), "pause call done, ok = false", `{"name": "w1", "dest": "`+workerAddr+`", "index": 0}`)

	wantError(t, util(t, addr, "worker", "resume", "w1", "0", "Foo"),
		`ERROR: rpc WorkerResume: worker "w1" at `+workerAddr+`: invalid state Foo`)
	wantError(t, util(t, addr, "worker", "pause", "w1", "9"),
		`ERROR: rpc WorkerPause: worker "w1" at `+workerAddr+`: worker #9 not found`)
	wantError(t, util(t, addr, "worker", "pause", "w1", "first"),
		`ERROR: parse thread index: "first" is not a thread index (see the Index column of util worker info w1)`)

	logged(util(t, addr, "worker", "resume", "w1", "0", "PC2Done"), "resume call done, ok = true",
		`{"name": "w1", "dest": "`+workerAddr+`", "index": 0, "state": "PC2Done"}`)
	if out := mustUtil(t, addr, "worker", "info", "w1"); !strings.Contains(out, "s-t010000-1  false   NULL           PC2Done") {
		t.Fatalf("info after resume:\n%s", out)
	}
	mustUtil(t, addr, "worker", "pause", "w1", "0")
	logged(util(t, addr, "worker", "resume", "w1", "0"), "resume call done, ok = true",
		`{"name": "w1", "dest": "`+workerAddr+`", "index": 0, "state": null}`)

	want := "WorkerPause 0|WorkerPause 0|WorkerResume 0 Foo|WorkerPause 9|WorkerResume 0 PC2Done|WorkerPause 0|WorkerResume 0 null"
	var calls []string
	for _, call := range w.Calls() {
		if call != "WorkerList" {
			calls = append(calls, call)
		}
	}
	if got := strings.Join(calls, "|"); got != want {
		t.Fatalf("worker received %s\nwant %s", got, want)
	}
}

func TestUtilWorkerUnreachableOrUnknown(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	down := closedAddr(t)
	ping(t, c, api.WorkerInfo{Name: "gone", Dest: down})
	unreachable := `worker "gone" at ` + down + ` is unreachable (is it running, with its admin api on that address?): dial tcp ` + down + `: connect: connection refused`

	wantError(t, util(t, addr, "worker", "info", "gone"), "ERROR: rpc WorkerList: "+unreachable)
	wantError(t, util(t, addr, "worker", "pause", "gone", "0"), "ERROR: rpc WorkerPause: "+unreachable)
	wantError(t, util(t, addr, "worker", "resume", "gone", "0"), "ERROR: rpc WorkerResume: "+unreachable)
	for _, args := range [][]string{{"info", "no such worker"}, {"pause", "no such worker", "0"}, {"resume", "no such worker", "0", "Empty"}} {
		method := map[string]string{"info": "WorkerList", "pause": "WorkerPause", "resume": "WorkerResume"}[args[0]]
		wantError(t, util(t, addr, append([]string{"worker"}, args...)...),
			"ERROR: rpc "+method+`: resolve worker dest: no worker named "no such worker" has pinged this manager: `+
				`the worker must ping first (start it; its name is in util worker list after its first ping)`)
	}
}

func TestUtilWorkerRemove(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	cliAt(t, t0)
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"})
	ping(t, c, api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890"})

	if out := mustUtil(t, addr, "worker", "remove", "w1"); out != "'w1' removed\n" {
		t.Fatalf("remove = %q", out)
	}
	want := "" +
		"Name  Dest            Threads  Empty  Paused  Errors  LastPing(with ! if expired)\n" +
		"w2    10.0.0.2:17890  0        0      0       0       0s\n"
	if out := mustUtil(t, addr, "worker", "list"); out != want {
		t.Fatalf("list after remove:\n%s", out)
	}
	wantError(t, util(t, addr, "worker", "remove", "w1"),
		`ERROR: rpc WorkerPingInfoRemove: worker info not found: no worker named "w1" has pinged this manager (see util worker list)`)
}

func TestUtilMissingArgumentsPrintHelp(t *testing.T) {
	addr := closedAddr(t) // help needs no manager
	for _, args := range [][]string{
		{"worker", "info"}, {"worker", "pause", "w1"}, {"worker", "resume", "w1"}, {"worker", "remove"},
		{"sealer", "sectors", "state", "10000"}, {"sealer", "sectors", "abort"}, {"sealer", "sectors", "restore", "10000"},
	} {
		r := util(t, addr, args...)
		name := args[len(args)-1]
		if len(args) > 2 && args[0] == "worker" {
			name = args[1]
		} else if args[0] == "sealer" {
			name = args[2]
		}
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "venus-sector-manager util "+strings.Join(args[:len(args)-1], " ")) ||
			!strings.Contains(r.stdout, "USAGE:") || !strings.Contains(r.stdout, name) {
			t.Errorf("util %v: status %d stdout %q stderr %q; want the help and 0", args, r.code, r.stdout, r.stderr)
		}
	}
}

// closedAddr is a local address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUtilManagerDownIsOneClearLine(t *testing.T) {
	down := closedAddr(t)
	for _, args := range [][]string{
		{"worker", "list"}, {"worker", "info", "w1"}, {"worker", "pause", "w1", "0"}, {"worker", "resume", "w1", "0", "PC1Done"},
		{"worker", "remove", "w1"}, {"sealer", "sectors", "list"}, {"sealer", "sectors", "list", "--offline"},
		{"sealer", "sectors", "state", "10000", "1"}, {"sealer", "sectors", "abort", "10000", "1"},
		{"sealer", "sectors", "restore", "10000", "1"},
	} {
		r := util(t, down, args...)
		want := "ERROR: cannot reach venus-sector-manager at " + down + " (dial tcp " + down +
			": connect: connection refused): start it (venus-sector-manager mock or daemon run) or point util --listen at it\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("util %v: status %d stdout %q stderr %q\nwant 1 and %q", args, r.code, r.stdout, r.stderr, want)
		}
	}

	wantError(t, util(t, "no-port", "worker", "list"),
		`ERROR: invalid util --listen "no-port": address no-port: missing port in address (want host:port, e.g. 127.0.0.1:1789)`)
}

func TestManagerAddrResolution(t *testing.T) {
	for in, want := range map[string]string{
		":1789":          "127.0.0.1:1789",
		"0.0.0.0:1789":   "127.0.0.1:1789",
		"[::]:1789":      "127.0.0.1:1789",
		"10.0.0.5:2000":  "10.0.0.5:2000",
		"[::1]:1789":     "[::1]:1789",
		"127.0.0.1:1789": "127.0.0.1:1789",
	} {
		if got, err := managerAddr(in); err != nil || got != want {
			t.Errorf("managerAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseActor(t *testing.T) {
	for in, want := range map[string]abi.ActorID{"10000": 10000, "t010000": 10000, "f01000": 1000} {
		if got, err := parseActor(in); err != nil || got != want {
			t.Errorf("parseActor(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "t1abc", "t3", "miner", "-1"} {
		if _, err := parseActor(bad); err == nil || !strings.Contains(err.Error(), "want an actor id such as 10000 or t010000") {
			t.Errorf("parseActor(%q) = %v", bad, err)
		}
	}
}

// util worker drain/undrain reach the worker through the manager and say whether anything changed;
// info shows the drain the worker's ping reports (one extra line, only when drained).
func TestUtilWorkerDrainUndrain(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	w, workerAddr := fakeworker.Start(t, api.WorkerThreadInfo{Index: 0, Location: "/s1", State: "Empty"})
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: workerAddr})
	logged := func(r cmdResult, msg string) {
		t.Helper()
		fields := `{"name": "w1", "dest": "` + workerAddr + `"}`
		if r.code != 0 || !strings.Contains(r.stderr, "\tINFO\tcmd\t"+msg+"\t"+fields+"\n") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("status %d stderr %q; want one log line %q %s", r.code, r.stderr, msg, fields)
		}
	}
	table := "Index  Loc  SectorID  Paused  PausedElapsed  State  LastErr\n0      /s1  NULL      false   NULL           Empty  NULL\n"
	if out := mustUtil(t, addr, "worker", "info", "w1"); out != table {
		t.Fatalf("info before drain:\n%s", out)
	}

	logged(util(t, addr, "worker", "drain", "w1"), "drain call done, changed = true")
	if !w.Drained() {
		t.Fatal("the worker was not drained")
	}
	logged(util(t, addr, "worker", "drain", "w1"), "drain call done, changed = false")
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: workerAddr, Drained: true}) // the worker's ping after the change
	if out := mustUtil(t, addr, "worker", "info", "w1"); out != table+"drained: w1 takes no new sector (util worker undrain w1)\n" {
		t.Fatalf("info of a drained worker:\n%s", out)
	}
	logged(util(t, addr, "worker", "undrain", "w1"), "undrain call done, changed = true")
	if w.Drained() {
		t.Fatal("the worker is still drained")
	}
	if got := strings.Join(slices.DeleteFunc(w.Calls(), func(c string) bool { return c == "WorkerList" }), "|"); got != "WorkerDrain true|WorkerDrain true|WorkerDrain false" {
		t.Fatalf("worker received %s", got)
	}

	wantError(t, util(t, addr, "worker", "drain", "nobody"),
		`ERROR: rpc WorkerDrain: resolve worker dest: no worker named "nobody" has pinged this manager: `+
			`the worker must ping first (start it; its name is in util worker list after its first ping)`)
	down := closedAddr(t)
	ping(t, c, api.WorkerInfo{Name: "gone", Dest: down})
	wantError(t, util(t, addr, "worker", "undrain", "gone"), `ERROR: rpc WorkerDrain: worker "gone" at `+down+
		` is unreachable (is it running, with its admin api on that address?): dial tcp `+down+`: connect: connection refused`)
}
