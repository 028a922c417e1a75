package main

import (
	"math"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPipeline/threads=1-2   	     300	  24353749 ns/op	        13.00 sectors/s	        76.30 ms/sector/thread
BenchmarkPipeline/threads=64-2  	     300	  12424427 ns/op	       130.0 sectors/s
BenchmarkManager-2   	      10	 591512579 ns/op	         0.7491 ping/noop
BenchmarkAddPieceCommP-2   3   1234 ns/op   870.50 MB/s   2.10 x_hashhash
BenchmarkChainSectors/threshold=16-2 	      16	   5249144 ns/op	         6.327 cpu_ms/sector	        31.56 node_calls/sector	         0.06250 pre_msgs/sector	         0.06250 prove_msgs/sector	         8.083 x_mock
BenchmarkChainInFlight-2             	      16	1523797150 ns/op	         5.533 list_p99_ms	        23.54 list_x_noop	         0.2351 noop_p99_ms	        58.28 sectors_list_ms	         7.413 sectors_list_x_state
PASS
ok  	github.com/x/bench	14.222s
`

// Names lose their -GOMAXPROCS suffix, every value/unit pair is kept (ns/op and MB/s too), and
// the other lines are skipped.
func TestParse(t *testing.T) {
	r, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 6 {
		t.Fatalf("parsed %d benchmarks, want 6: %v", len(r), r)
	}
	for _, c := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkPipeline/threads=1", "sectors/s", 13},
		{"BenchmarkPipeline/threads=1", "ms/sector/thread", 76.3},
		{"BenchmarkPipeline/threads=1", "ns/op", 24353749},
		{"BenchmarkManager", "ping/noop", 0.7491},
		{"BenchmarkAddPieceCommP", "MB/s", 870.5},
	} {
		if got := r.Get(c.name, c.unit); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.name, c.unit, got, c.want)
		}
	}
	if got := r.Get("BenchmarkRecovery", "recovery_ms"); !math.IsNaN(got) {
		t.Errorf("missing figure = %v, want NaN", got)
	}
}

func TestParseRejectsBadValue(t *testing.T) {
	_, err := Parse(strings.NewReader("BenchmarkX-2  1  abc ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), `BenchmarkX: value "abc" of ns/op is not a number`) {
		t.Fatalf("got %v", err)
	}
}

// The report shows each target with its verdict: 130/13 = 10x meets ">= 10x", 0.75 misses
// ">= 0.8", and a figure the run did not produce says so.
func TestReportVerdicts(t *testing.T) {
	r, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	Report(&sb, r, map[string]string{"nproc": "2"}, "closing note\n")
	out := sb.String()
	for _, want := range []string{
		"| 64 threads over 1 thread (sectors/s) | >= 10x | 10.0 x | met |",
		"| WorkerPing over no-op throughput, 1,000 workers | >= 0.8 | 0.75  | **NOT met** |",
		"| AddPiece+CommP over go-fil-commp-hashhash | >= 1.5x | 2.10 x | met |",
		"| worker RSS, 64 idle threads | < 64 MiB | n/a MiB | not measured |",
		"| nproc | 2 |",
		"| threshold=16 | 31.6 | 0.06 | 0.06 | 6.33 | 8.08 |",
		"| `WorkerPingInfoList` p99 | 5.53 ms | no-op p99: 0.24 ms | 23.5 |",
		"closing note\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
