package admin

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

func u64p(n uint64) *uint64 { return &n }
func strp(s string) *string { return &s }

// seedLastErr is the error text of the user's own document (seed/10.venus-worker-task-management).
const seedLastErr = "permanent: No cached parameters found for stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f [failure finding /var/tmp/filecoin-proof-parameters/v28-stacked-proof-of-replication-merkletree-poseidon_hasher-8-0-0-sha256_hasher-032d3138d22506ec0082ed72b2dcba18df18477904e35bafee82b3793b06832f.params]"

func TestFormatThreadLineMatchesTheSeedDocument(t *testing.T) {
	info := api.WorkerThreadInfo{
		Location:      "/home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store1",
		SectorID:      &abi.SectorID{Miner: 10000, Number: 2},
		Index:         0,
		Paused:        true,
		PausedElapsed: u64p(17),
		State:         "C1Done",
		LastError:     strp(seedLastErr),
	}
	want := `#0: "/home/dtynn/proj/github.com/ipfs-force-community/venus-cluster/mock-tmp/store1"; sector_id=Some(s-t010000-2), paused=true, paused_elapsed=Some(17s), state=C1Done, last_err=Some("` + seedLastErr + `")`
	if got := FormatThreadLine(info); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatThreadLineIdleAndEscapes(t *testing.T) {
	idle := api.WorkerThreadInfo{Location: "/data/store2", Index: 1, State: "Empty"}
	if got, want := FormatThreadLine(idle), `#1: "/data/store2"; sector_id=None, paused=false, paused_elapsed=None, state=Empty, last_err=None`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	zero := api.WorkerThreadInfo{Location: `/a "b"\c`, Index: 2, Paused: true, PausedElapsed: u64p(0), State: "PC1Done",
		LastError: strp("critical: line1\n\nCaused by:\n    \"x\"\ttab")}
	want := `#2: "/a \"b\"\\c"; sector_id=None, paused=true, paused_elapsed=Some(0ns), state=PC1Done, last_err=Some("critical: line1\n\nCaused by:\n    \"x\"\ttab")`
	if got := FormatThreadLine(zero); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Whole seconds are never split into minutes, as Rust's Duration Debug.
	long := api.WorkerThreadInfo{Location: "/l", Paused: true, PausedElapsed: u64p(823), State: "C2Done"}
	if got := FormatThreadLine(long); !strings.Contains(got, "paused_elapsed=Some(823s)") {
		t.Errorf("got %s", got)
	}
}

type fakeThreads struct {
	paused  []uint64
	resumed []string
	drained []bool
}

func (f *fakeThreads) SetDrained(on bool) (bool, error) {
	f.drained = append(f.drained, on)
	return true, nil
}

func (f *fakeThreads) Progress() []api.ThreadProgress {
	at := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	step, done, total := "transfer", int64(1024), int64(4096)
	return []api.ThreadProgress{
		{Index: 0, State: "C1Done", StateEnteredAt: &at},
		{Index: 1, State: "Persisted", StateEnteredAt: &at, Step: &step, BytesDone: &done, BytesTotal: &total},
	}
}

func (f *fakeThreads) List() []api.WorkerThreadInfo {
	return []api.WorkerThreadInfo{
		{Location: "/data/store1", SectorID: &abi.SectorID{Miner: 10000, Number: 2}, Index: 0, Paused: true, PausedElapsed: u64p(17), State: "C1Done", LastError: strp("permanent: boom")},
		{Location: "/data/store2", Index: 1, State: "Empty"},
	}
}

func (f *fakeThreads) Pause(i uint64) (bool, error) {
	if i > 1 {
		return false, api.InvalidParams("worker #%d not found", i)
	}
	f.paused = append(f.paused, i)
	return true, nil
}

func (f *fakeThreads) Resume(i uint64, s *string) (bool, error) {
	if s != nil && *s == "Foo" {
		return false, api.InvalidParams("invalid state %s", *s)
	}
	st := "null"
	if s != nil {
		st = *s
	}
	f.resumed = append(f.resumed, st)
	return true, nil
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestWireLiteralJSON posts what the original manager sends to http://<dest>/ and checks the answers.
func TestWireLiteralJSON(t *testing.T) {
	ft := &fakeThreads{}
	srv := httptest.NewServer(NewHandler(ft))
	defer srv.Close()
	url := srv.URL + "/"

	cases := []struct{ req, resp string }{
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerList","params":[],"id":1}`,
			`{"id":1,"jsonrpc":"2.0","result":[{"location":"/data/store1","sector_id":{"Miner":10000,"Number":2},"index":0,"paused":true,"paused_elapsed":17,"state":"C1Done","last_error":"permanent: boom"},{"location":"/data/store2","sector_id":null,"index":1,"paused":false,"paused_elapsed":null,"state":"Empty","last_error":null}]}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":[1],"id":2}`, `{"id":2,"jsonrpc":"2.0","result":true}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerPause","params":[7],"id":3}`, `{"error":{"code":-32602,"message":"worker #7 not found"},"id":3,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[0,null],"id":4}`, `{"id":4,"jsonrpc":"2.0","result":true}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[0],"id":5}`, `{"id":5,"jsonrpc":"2.0","result":true}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[0,"PC1Done"],"id":6}`, `{"id":6,"jsonrpc":"2.0","result":true}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[0,"Foo"],"id":7}`, `{"error":{"code":-32602,"message":"invalid state Foo"},"id":7,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerResume","params":[-1,null],"id":8}`, `{"error":{"code":-32602,"message":"invalid thread index -1: want a non-negative integer"},"id":8,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerSetEnv","params":["VC_ADMIN_TEST_ENV","1"],"id":9}`, `{"id":9,"jsonrpc":"2.0","result":null}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerSetEnv","params":["A=B","1"],"id":10}`, `{"error":{"code":-32602,"message":"invalid environment variable name or value"},"id":10,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerRemoveEnv","params":[""],"id":11}`, `{"error":{"code":-32602,"message":"invalid environment variable name"},"id":11,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerRemoveEnv","params":["VC_ADMIN_TEST_ENV"],"id":12}`, `{"id":12,"jsonrpc":"2.0","result":null}`},
		{`{"jsonrpc":"2.0","method":"VenusWorker.WorkerProgress","params":[],"id":13}`,
			`{"id":13,"jsonrpc":"2.0","result":[{"index":0,"state":"C1Done","state_entered_at":"2026-12-05T15:00:00Z","step":null,"bytes_done":null,"bytes_total":null},{"index":1,"state":"Persisted","state_entered_at":"2026-12-05T15:00:00Z","step":"transfer","bytes_done":1024,"bytes_total":4096}]}`},
	}
	for _, c := range cases {
		if got := post(t, url, c.req); got != c.resp {
			t.Errorf("request %s\n got %s\nwant %s", c.req, got, c.resp)
		}
	}
	if strings.Join(ft.resumed, ",") != "null,null,PC1Done" {
		t.Errorf("resumed = %v", ft.resumed)
	}
	if _, ok := os.LookupEnv("VC_ADMIN_TEST_ENV"); ok {
		t.Error("WorkerRemoveEnv left the variable set")
	}
	// Any path works: the original manager posts to the root, others may not.
	if got := post(t, srv.URL+"/rpc/v0", cases[1].req); got != cases[1].resp {
		t.Errorf("other path: %s", got)
	}
}

func TestClientRoundTrip(t *testing.T) {
	ft := &fakeThreads{}
	srv := httptest.NewServer(NewHandler(ft))
	defer srv.Close()
	c, closer, err := api.NewWorkerAdminClient(context.Background(), strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	list, err := c.WorkerList(context.Background())
	if err != nil || len(list) != 2 || list[0].State != "C1Done" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	var buf bytes.Buffer
	for _, l := range list {
		buf.WriteString(FormatThreadLine(l) + "\n")
	}
	want := "#0: \"/data/store1\"; sector_id=Some(s-t010000-2), paused=true, paused_elapsed=Some(17s), state=C1Done, last_err=Some(\"permanent: boom\")\n" +
		"#1: \"/data/store2\"; sector_id=None, paused=false, paused_elapsed=None, state=Empty, last_err=None\n"
	if buf.String() != want {
		t.Errorf("list output:\n%s\nwant\n%s", buf.String(), want)
	}
	if _, err := c.WorkerResume(context.Background(), 0, strp("Foo")); err == nil || !strings.Contains(err.Error(), "invalid state Foo") {
		t.Errorf("resume Foo err = %v", err)
	}
}
