package api

import (
	"bytes"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
)

// The threads document both CLIs print, pinned byte for byte.
func TestThreadsDocJSON(t *testing.T) {
	paused, lastErr := uint64(5), "temporary: manager down"
	var out bytes.Buffer
	entered := time.Date(2026, 12, 5, 15, 0, 0, 250e6, time.UTC)
	step, done, total := "transfer", int64(1<<30), int64(4<<30)
	err := WriteDoc(&out, NewThreadsDoc([]WorkerThreadInfo{
		{Index: 3, Location: "/mnt/s3", SectorID: &abi.SectorID{Miner: 10000, Number: 7}, Paused: true, PausedElapsed: &paused,
			State: "C2Done", LastError: &lastErr},
		{Index: 4, Location: "/mnt/s4", State: "Persisted"},
		{Index: 5, Location: "/mnt/s5", State: "PC1Done"},
	}, []ThreadProgress{
		{Index: 4, State: "Persisted", StateEnteredAt: &entered, Step: &step, BytesDone: &done, BytesTotal: &total},
		{Index: 5, State: "PC2Done", StateEnteredAt: &entered}, // moved on between the two calls: not shown
	}, entered.Add(61500*time.Millisecond)))
	want := `{
  "threads": [
    {
      "index": 3,
      "location": "/mnt/s3",
      "sector": "s-t010000-7",
      "paused": true,
      "paused_seconds": 5,
      "state": "C2Done",
      "last_error": "temporary: manager down",
      "state_entered_at": null,
      "seconds_in_state": null,
      "step": null,
      "bytes_done": null,
      "bytes_total": null
    },
    {
      "index": 4,
      "location": "/mnt/s4",
      "sector": null,
      "paused": false,
      "paused_seconds": null,
      "state": "Persisted",
      "last_error": null,
      "state_entered_at": "2026-12-05T15:00:00Z",
      "seconds_in_state": 61.5,
      "step": "transfer",
      "bytes_done": 1073741824,
      "bytes_total": 4294967296
    },
    {
      "index": 5,
      "location": "/mnt/s5",
      "sector": null,
      "paused": false,
      "paused_seconds": null,
      "state": "PC1Done",
      "last_error": null,
      "state_entered_at": null,
      "seconds_in_state": null,
      "step": null,
      "bytes_done": null,
      "bytes_total": null
    }
  ]
}
`
	if err != nil || out.String() != want {
		t.Fatalf("threads doc = %v\n%s\nwant\n%s", err, out.String(), want)
	}
	out.Reset()
	if err := WriteDoc(&out, NewThreadsDoc(nil, nil, time.Time{})); err != nil || out.String() != "{\n  \"threads\": []\n}\n" {
		t.Fatalf("no threads = %q, %v", out.String(), err)
	}
}
