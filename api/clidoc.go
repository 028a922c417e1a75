package api

import (
	"encoding/json"
	"io"
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
}

// NewThreadsDoc is the document of threads, in their order.
func NewThreadsDoc(threads []WorkerThreadInfo) ThreadsDoc {
	doc := ThreadsDoc{Threads: []ThreadDoc{}}
	for _, t := range threads {
		d := ThreadDoc{Index: t.Index, Location: t.Location, Paused: t.Paused, PausedSeconds: t.PausedElapsed,
			State: t.State, LastError: t.LastError}
		if t.SectorID != nil {
			id := FormatSectorID(*t.SectorID)
			d.Sector = &id
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
