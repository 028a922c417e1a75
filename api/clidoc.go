package api

import (
	"encoding/json"
	"io"
	"time"
)

// The --json documents of both daemons' CLIs. Their field names are a contract with the
// operators' scripts: snake_case, times in RFC 3339 UTC, durations in seconds. The two CLIs that
// show a worker's threads (`venus-worker worker list`, `util worker info`) print the same one.

// ThreadsDoc is the --json document of a worker's sealing threads.
type ThreadsDoc struct {
	// Drained is the worker's drain as its last ping told the manager: in `util worker info`
	// only (the worker's own CLI reads the threads, not the drain).
	Drained *bool       `json:"drained,omitempty"`
	Threads []ThreadDoc `json:"threads"`
}

// ThreadDoc is one sealing thread. Sector is "s-t0<miner>-<number>", null when the thread holds
// none; PausedSeconds is null unless paused.
type ThreadDoc struct {
	Index         int     `json:"index"`
	Location      string  `json:"location"`
	Sector        *string `json:"sector"`
	Paused        bool    `json:"paused"`
	PausedSeconds *uint64 `json:"paused_seconds"`
	State         string  `json:"state"`
	LastError     *string `json:"last_error"`
	// The progress of the thread (VenusWorker.WorkerProgress), null from a worker without it.
	StateEnteredAt *time.Time `json:"state_entered_at"`
	SecondsInState *float64   `json:"seconds_in_state"`
	Step           *string    `json:"step"`
	BytesDone      *int64     `json:"bytes_done"`
	BytesTotal     *int64     `json:"bytes_total"`
}

// NewThreadsDoc is the document of threads, in their order, with their progress as of now
// (progress may be nil: a worker without WorkerProgress).
func NewThreadsDoc(threads []WorkerThreadInfo, progress []ThreadProgress, now time.Time) ThreadsDoc {
	byIndex := make(map[int]ThreadProgress, len(progress))
	for _, p := range progress {
		byIndex[p.Index] = p
	}
	doc := ThreadsDoc{Threads: []ThreadDoc{}}
	for _, t := range threads {
		d := ThreadDoc{Index: t.Index, Location: t.Location, Paused: t.Paused, PausedSeconds: t.PausedElapsed,
			State: t.State, LastError: t.LastError}
		if t.SectorID != nil {
			id := FormatSectorID(*t.SectorID)
			d.Sector = &id
		}
		if p, ok := byIndex[t.Index]; ok && p.State == t.State {
			d.Step, d.BytesDone, d.BytesTotal = p.Step, p.BytesDone, p.BytesTotal
			if p.StateEnteredAt != nil {
				at := p.StateEnteredAt.UTC().Truncate(time.Second)
				secs := max(now.Sub(*p.StateEnteredAt).Round(100*time.Millisecond).Seconds(), 0)
				d.StateEnteredAt, d.SecondsInState = &at, &secs
			}
		}
		doc.Threads = append(doc.Threads, d)
	}
	return doc
}

// WriteDoc prints doc as one indented JSON document.
func WriteDoc(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
