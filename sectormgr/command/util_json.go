package command

import (
	"encoding/json"
	"io"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
)

// The --json documents of the util commands. Their field names are part of the CLI's contract
// (scripts parse them): snake_case, times in RFC 3339 UTC, durations in seconds. The tables stay
// the original's; these carry the same facts.

const flagJSON = "json"

// workerListJSON is `util worker list --json`.
type workerListJSON struct {
	Workers []workerJSON `json:"workers"`
}

type workerJSON struct {
	Name                 string  `json:"name"`
	Dest                 string  `json:"dest"`
	Version              string  `json:"version"`
	Threads              uint    `json:"threads"`
	Empty                uint    `json:"empty"`
	Paused               uint    `json:"paused"`
	Running              uint    `json:"running"`
	Waiting              uint    `json:"waiting"`
	Errors               uint    `json:"errors"`
	LastPing             string  `json:"last_ping"`
	SecondsSinceLastPing float64 `json:"seconds_since_last_ping"`
	Expired              bool    `json:"expired"`
}

func workerList(workers []api.WorkerPingInfo, at time.Time, expiration time.Duration) workerListJSON {
	out := workerListJSON{Workers: []workerJSON{}}
	for _, p := range workers {
		s := p.Info.Summary
		out.Workers = append(out.Workers, workerJSON{
			Name: p.Info.Name, Dest: p.Info.Dest, Version: p.Info.Version,
			Threads: s.Threads, Empty: s.Empty, Paused: s.Paused, Running: s.Running, Waiting: s.Waiting, Errors: s.Errors,
			LastPing:             rfc3339(time.Unix(p.LastPing, 0)),
			SecondsSinceLastPing: registry.Since(p, at).Seconds(),
			Expired:              registry.Expired(p, at, expiration),
		})
	}
	return out
}

// sectorListJSON is `util sealer sectors list --json`.
type sectorListJSON struct {
	Sectors []sectorJSON `json:"sectors"`
}

type sectorJSON struct {
	ID        string      `json:"id"`
	Miner     uint64      `json:"miner"`
	Number    uint64      `json:"number"`
	Upgraded  bool        `json:"upgraded"`
	Finalized bool        `json:"finalized"`
	Removed   bool        `json:"removed"`
	Latest    *latestJSON `json:"latest_state"`
}

type latestJSON struct {
	Worker   string  `json:"worker"`
	Location string  `json:"location"`
	Prev     string  `json:"prev"`
	Next     string  `json:"next"`
	Event    string  `json:"event"`
	Failure  *string `json:"failure"`
}

func sectorList(states []*api.SectorState) sectorListJSON {
	out := sectorListJSON{Sectors: []sectorJSON{}}
	for _, st := range states {
		s := sectorJSON{
			ID: api.FormatSectorID(st.ID), Miner: uint64(st.ID.Miner), Number: uint64(st.ID.Number),
			Upgraded: st.Upgraded, Finalized: st.Finalized, Removed: st.Removed,
		}
		if l := st.LatestState; l != nil {
			s.Latest = &latestJSON{Worker: l.Worker.Instance, Location: l.Worker.Location,
				Prev: l.StateChange.Prev, Next: l.StateChange.Next, Event: l.StateChange.Event}
			if l.Failure != nil {
				f := l.Failure.Level + ": " + l.Failure.Desc
				s.Latest.Failure = &f
			}
		}
		out.Sectors = append(out.Sectors, s)
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeJSON prints doc as one indented JSON document.
func writeJSON(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
