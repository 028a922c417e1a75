package api

import (
	"bytes"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
)

// The threads document both CLIs print, pinned byte for byte.
func TestThreadsDocJSON(t *testing.T) {
	paused, lastErr := uint64(5), "temporary: manager down"
	var out bytes.Buffer
	err := WriteDoc(&out, NewThreadsDoc([]WorkerThreadInfo{
		{Index: 3, Location: "/mnt/s3", SectorID: &abi.SectorID{Miner: 10000, Number: 7}, Paused: true, PausedElapsed: &paused,
			State: "C2Done", LastError: &lastErr},
	}))
	want := `{
  "threads": [
    {
      "index": 3,
      "location": "/mnt/s3",
      "sector": "s-t010000-7",
      "paused": true,
      "paused_seconds": 5,
      "state": "C2Done",
      "last_error": "temporary: manager down"
    }
  ]
}
`
	if err != nil || out.String() != want {
		t.Fatalf("threads doc = %v\n%s\nwant\n%s", err, out.String(), want)
	}
	out.Reset()
	if err := WriteDoc(&out, NewThreadsDoc(nil)); err != nil || out.String() != "{\n  \"threads\": []\n}\n" {
		t.Fatalf("no threads = %q, %v", out.String(), err)
	}
}
