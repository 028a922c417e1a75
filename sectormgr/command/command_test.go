package command

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
)

// startMock runs `mock` through run() on a free port and returns its address; stop cancels it
// and returns its exit status.
func startMock(t *testing.T, args ...string) (addr string, stop func() int) {
	t.Helper()
	listening := make(chan net.Addr, 1)
	onListening = func(a net.Addr) { listening <- a }
	t.Cleanup(func() { onListening = func(net.Addr) {} })

	ctx, cancel := context.WithCancel(context.Background())
	status := make(chan int, 1)
	argv := append([]string{"venus-sector-manager"}, args...)
	go func() { status <- run(ctx, argv, io.Discard, io.Discard) }()

	select {
	case a := <-listening:
		return a.String(), func() int { cancel(); return <-status }
	case code := <-status:
		cancel()
		t.Fatalf("mock exited with %d before listening", code)
		return "", nil
	}
}

func TestMockServesTheOriginalWireFormat(t *testing.T) {
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0")
	body := `{"jsonrpc":"2.0","method":"Venus.AllocateSector","params":[{"AllowedMiners":null,"AllowedProofTypes":null}],"id":1}`
	resp, err := http.Post("http://"+addr+"/rpc/v0", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reply struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	want := `{"ID":{"Miner":10000,"Number":1},"ProofType":5}`
	if resp.StatusCode != http.StatusOK || reply.JSONRPC != "2.0" || reply.ID != 1 || string(reply.Result) != want {
		t.Fatalf("status %d body %s; want result %s", resp.StatusCode, raw, want)
	}
	if code := stop(); code != 0 {
		t.Fatalf("mock exit status after cancel = %d, want 0", code)
	}
}

func TestMockFlagErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad size", []string{"mock", "--miner", "10000", "--sector-size", "3KiB"},
			`ERROR: invalid --sector-size "3KiB": invalid sector size: 3072 (want 2KiB, 8MiB, 512MiB, 32GiB or 64GiB)` + "\n"},
		{"not a size", []string{"mock", "--miner", "10000", "--sector-size", "big"},
			`ERROR: invalid --sector-size "big": `},
		{"missing miner", []string{"mock", "--sector-size", "2KiB"}, `ERROR: Required flag "miner" not set`},
		{"missing size", []string{"mock", "--miner", "10000"}, `ERROR: Required flag "sector-size" not set`},
		{"miner zero", []string{"mock", "--miner", "0", "--sector-size", "2KiB"}, `ERROR: invalid --miner 0`},
		{"bad network", []string{"--net", "moon", "mock", "--miner", "10000", "--sector-size", "2KiB"},
			"ERROR: invalid network name moon\n"},
		{"busy listen", []string{"mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", busy},
			`ERROR: listen on "` + busy + `": `},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"venus-sector-manager"}, c.args...), io.Discard, &stderr)
		if code != 1 || !strings.HasPrefix(stderr.String(), c.want) {
			t.Errorf("%s: status %d stderr %q; want 1 and %q", c.name, code, stderr.String(), c.want)
		}
	}
}

func TestEveryNetworkIsAccepted(t *testing.T) {
	for _, name := range Networks {
		// --help stops before any command runs, after the root hook validated --net.
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"venus-sector-manager", "--net", name, "mock", "--help"}, io.Discard, &stderr); code != 0 {
			t.Errorf("--net %s: status %d, stderr %q", name, code, stderr.String())
		}
	}
}

// TestMainStopsCleanlyOnSIGINT sends SIGINT to this test process; Main has installed its
// handler by the time the server listens, so the signal stops the mock instead of the test.
func TestMainStopsCleanlyOnSIGINT(t *testing.T) {
	listening := make(chan net.Addr, 1)
	onListening = func(a net.Addr) { listening <- a }
	defer func() { onListening = func(net.Addr) {} }()

	status := make(chan int, 1)
	go func() {
		status <- Main([]string{"venus-sector-manager", "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0"})
	}()
	select {
	case <-listening:
	case code := <-status:
		t.Fatalf("Main exited with %d before listening", code)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-status; code != 0 {
		t.Fatalf("Main after SIGINT = %d, want 0", code)
	}
}

// A mock without --home checks no token, so unless told otherwise it is reachable from this
// machine only; told to listen elsewhere, it says what that exposes. With --home it keeps the
// manager's default.
func TestOpenMockListensOnLoopback(t *testing.T) {
	warning := func(addr string) string {
		return "listening on " + addr + " without auth: anyone who can reach it can allocate sectors, abort them and " +
			"manage every worker (pass --home to require tokens, or --listen 127.0.0.1:<port>)"
	}
	cases := []struct{ listen, home, want, warning string }{
		{"", "", "127.0.0.1:1789", ""},
		{"", "/h", ":1789", ""},
		{"127.0.0.1:0", "", "127.0.0.1:0", ""},
		{"localhost:1789", "", "localhost:1789", ""},
		{"[::1]:1789", "", "[::1]:1789", ""},
		{":1789", "", ":1789", warning(":1789")},
		{"0.0.0.0:1789", "", "0.0.0.0:1789", warning("0.0.0.0:1789")},
		{"10.0.0.5:1789", "", "10.0.0.5:1789", warning("10.0.0.5:1789")},
		{":1789", "/h", ":1789", ""},
	}
	for _, c := range cases {
		got, warn := mockListen(c.listen, c.home)
		if got != c.want || warn != c.warning {
			t.Errorf("mockListen(%q, %q) = %q, %q\nwant %q, %q", c.listen, c.home, got, warn, c.want, c.warning)
		}
	}
}
