package command

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// mainEnv makes the test binary run Main with its arguments instead of the tests, so a test can
// start the real command as a process of its own, and SIGKILL it.
const mainEnv = "VSM_COMMAND_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(append([]string{"venus-sector-manager"}, os.Args[1:]...)))
	}
	os.Exit(m.Run())
}

func newClient(t *testing.T, addr string) *api.ManagerClient {
	t.Helper()
	return newTokenClient(t, addr, "")
}

func newTokenClient(t *testing.T, addr, token string) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), "http://"+addr+api.ManagerRPCPath, api.AuthHeader(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// homeClient is a client with the admin token a mock with --home home wrote.
func homeClient(t *testing.T, addr, home string) *api.ManagerClient {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return newTokenClient(t, addr, string(token))
}

func allocateOne(t *testing.T, c *api.ManagerClient) abi.SectorNumber {
	t.Helper()
	s, err := c.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if err != nil || s == nil {
		t.Fatalf("AllocateSector = %+v, %v", s, err)
	}
	return s.ID.Number
}

func TestMockHomeFlags(t *testing.T) {
	userHome := t.TempDir()
	t.Setenv("HOME", userHome)
	mockArgs := []string{"mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0"}

	// mock --home ~/… keeps the state there…
	addr, stop := startMock(t, append(mockArgs, "--home", "~/vsm")...)
	c := homeClient(t, addr, filepath.Join(userHome, "vsm"))
	allocateOne(t, c)
	allocateOne(t, c)
	if code := stop(); code != 0 {
		t.Fatalf("stop = %d", code)
	}
	if _, err := os.Stat(filepath.Join(userHome, "vsm", "meta", "meta.db")); err != nil {
		t.Fatalf("mock --home ~/vsm: %v", err)
	}
	// …and so does the root --home, given before the command.
	addr, stop = startMock(t, append([]string{"--home", filepath.Join(userHome, "vsm")}, mockArgs...)...)
	if n := allocateOne(t, homeClient(t, addr, filepath.Join(userHome, "vsm"))); n != 3 {
		t.Fatalf("first number after restart = %d, want 3", n)
	}
	stop()

	// Without --home the mock keeps state in memory and leaves the default home alone.
	addr, stop = startMock(t, mockArgs...)
	if n := allocateOne(t, newClient(t, addr)); n != 1 {
		t.Fatalf("in-memory mock first number = %d, want 1", n)
	}
	stop()
	if _, err := os.Stat(filepath.Join(userHome, ".venus-sector-manager")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the mock created the default home: %v", err)
	}
}

var listeningLine = regexp.MustCompile(`mock manager running.*"addr": "([^"]+)"`)

// startMockProcess runs `venus-sector-manager mock --home home` as a child process and returns
// it with its address.
func startMockProcess(t *testing.T, home string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--home", home)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "VENUS_LOG=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			if m := listeningLine.FindStringSubmatch(scanner.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		close(found)
		_, _ = io.Copy(io.Discard, stderr) // keep the child from blocking on a full pipe
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("the mock process exited before listening")
		}
		return cmd, addr
	case <-time.After(60 * time.Second): // a guard against hanging, not a performance limit
		t.Fatal("the mock process did not start listening")
		return nil, ""
	}
}

// allocation is what a client was told before the manager died.
type allocation struct {
	number   abi.SectorNumber
	reported bool
}

// TestMockSurvivesSIGKILL kills the mock process while clients allocate sectors and report
// states, restarts it on the same home, and checks that everything acknowledged is there and
// that no number is handed out twice.
func TestMockSurvivesSIGKILL(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	proc, addr := startMockProcess(t, home)
	c := homeClient(t, addr, home)

	first := abi.SectorID{Miner: 10000, Number: allocateOne(t, c)}
	finished := abi.SectorID{Miner: 10000, Number: allocateOne(t, c)}
	ticket, err := c.AssignTicket(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReportFinalized(ctx, finished); err != nil {
		t.Fatal(err)
	}
	if err := c.WorkerPing(ctx, api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890", Summary: api.WorkerInfoSummary{Threads: 3}}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acked []allocation
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s, err := c.AllocateSector(ctx, api.AllocateSectorSpec{})
				if err != nil || s == nil {
					return // the manager was killed
				}
				a := allocation{number: s.ID.Number}
				req := api.ReportStateReq{Worker: api.WorkerIdentifier{Instance: "w1", Location: "/s"},
					StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated", Event: "None"}}
				a.reported = c.ReportState(ctx, s.ID, req) == nil
				mu.Lock()
				acked = append(acked, a)
				if len(acked) == 40 {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	if err := proc.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
		t.Fatal(err)
	}
	wg.Wait()
	_ = proc.Wait()

	_, addr = startMockProcess(t, home)
	c = homeClient(t, addr, home)
	seen := map[abi.SectorNumber]bool{first.Number: true, finished.Number: true}
	var highest abi.SectorNumber
	for _, a := range acked {
		if seen[a.number] {
			t.Fatalf("number %d was handed out twice", a.number)
		}
		seen[a.number] = true
		highest = max(highest, a.number)
		st, err := c.FindSector(ctx, api.WorkerOnline, abi.SectorID{Miner: 10000, Number: a.number})
		if err != nil {
			t.Fatalf("sector %d, acknowledged before the kill, is gone: %v", a.number, err)
		}
		if a.reported && (st.LatestState == nil || st.LatestState.StateChange.Next != "Allocated") {
			t.Fatalf("the acknowledged report of sector %d is gone: %+v", a.number, st.LatestState)
		}
		if h, err := c.SectorHistory(ctx, st.ID); a.reported && (err != nil || len(h) != 1) {
			t.Fatalf("history of sector %d = %+v, %v", a.number, h, err)
		}
	}
	if next := allocateOne(t, c); next <= highest {
		t.Fatalf("first number after the restart = %d, but %d was handed out before the kill", next, highest)
	}
	if again, err := c.AssignTicket(ctx, first); err != nil || string(again.Ticket) != string(ticket.Ticket) {
		t.Fatalf("ticket after restart = %x, %v; want %x", again.Ticket, err, ticket.Ticket)
	}
	if st, err := c.FindSector(ctx, api.WorkerOffline, finished); err != nil || !st.Finalized {
		t.Fatalf("finalized sector after restart = %+v, %v", st, err)
	}
	if w, err := c.WorkerGetPingInfo(ctx, "w1"); err != nil || w == nil || w.Info.Summary.Threads != 3 {
		t.Fatalf("worker registry after restart = %+v, %v", w, err)
	}
	t.Logf("%d allocations acknowledged before SIGKILL; all kept", len(acked))
}
