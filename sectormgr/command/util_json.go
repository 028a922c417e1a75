package command

import (
	"encoding/hex"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
)

// The --json documents of the util commands. Their field names are part of the CLI's contract
// (scripts parse them): snake_case, times in RFC 3339 UTC, durations in seconds. The tables stay
// the original's; these carry the same facts.

const flagJSON = "json"

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: flagJSON, Usage: "print one JSON document (README: \"JSON output\") instead of the table"}
}

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
	Drained              bool    `json:"drained"`
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
			Drained:              p.Info.Drained,
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
			doc := latest(*l)
			s.Latest = &doc
		}
		out.Sectors = append(out.Sectors, s)
	}
	return out
}

func latest(r api.ReportStateReq) latestJSON {
	doc := latestJSON{Worker: r.Worker.Instance, Location: r.Worker.Location,
		Prev: r.StateChange.Prev, Next: r.StateChange.Next, Event: r.StateChange.Event}
	if r.Failure != nil {
		f := r.Failure.Level + ": " + r.Failure.Desc
		doc.Failure = &f
	}
	return doc
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// sectorStateJSON is `util sealer sectors state --json`: what the text shows, section by
// section. Binary values (ticket, seed, proof) are hex; CIDs are strings; absent values null.
type sectorStateJSON struct {
	sectorJSON
	AbortReason        *string       `json:"abort_reason"`
	History            []historyJSON `json:"history"`
	Deals              []dealJSON    `json:"deals"`
	Ticket             *randJSON     `json:"ticket"`
	CommD              *string       `json:"comm_d"`
	CommR              *string       `json:"comm_r"`
	PreCommitMessage   *string       `json:"precommit_message"`
	Seed               *randJSON     `json:"seed"`
	Proof              *string       `json:"proof"`
	ProveMessage       *string       `json:"prove_commit_message"`
	MessageNeedSend    bool          `json:"message_need_send"`
	UpgradeMessage     *string       `json:"upgrade_message"`
	UpgradeLandedEpoch *int64        `json:"upgrade_landed_epoch"`
	TerminateMessage   *string       `json:"terminate_message"`
}

type historyJSON struct {
	Time string `json:"time"`
	latestJSON
}

type dealJSON struct {
	ID        uint64 `json:"id"`
	PieceCID  string `json:"piece_cid"`
	PieceSize uint64 `json:"piece_size"`
}

type randJSON struct {
	Epoch int64  `json:"epoch"`
	Value string `json:"value"`
}

func sectorState(st *api.SectorState, history []api.SectorHistoryEntry) sectorStateJSON {
	doc := sectorStateJSON{
		sectorJSON:       sectorList([]*api.SectorState{st}).Sectors[0],
		History:          []historyJSON{},
		Deals:            []dealJSON{},
		PreCommitMessage: cidString(st.MessageInfo.PreCommitCid),
		ProveMessage:     cidString(st.MessageInfo.CommitCid),
		MessageNeedSend:  st.MessageInfo.NeedSend,
		UpgradeMessage:   st.UpgradeMessageID,
		TerminateMessage: cidString(st.TerminateInfo.TerminateCid),
	}
	if st.AbortReason != "" {
		doc.AbortReason = &st.AbortReason
	}
	for _, h := range history {
		doc.History = append(doc.History, historyJSON{Time: h.Time.UTC().Format(historyTimeFormat),
			latestJSON: latest(api.ReportStateReq{Worker: h.Worker, StateChange: h.StateChange, Failure: h.Failure})})
	}
	for _, p := range st.Pieces {
		if p.ID != 0 {
			doc.Deals = append(doc.Deals, dealJSON{ID: uint64(p.ID), PieceCID: p.Piece.Cid.String(), PieceSize: uint64(p.Piece.Size)})
		}
	}
	if t := st.Ticket; t != nil {
		doc.Ticket = &randJSON{Epoch: int64(t.Epoch), Value: hex.EncodeToString(t.Ticket)}
	}
	if s := st.Seed; s != nil {
		doc.Seed = &randJSON{Epoch: int64(s.Epoch), Value: hex.EncodeToString(s.Seed)}
	}
	if p := st.Pre; p != nil {
		doc.CommD, doc.CommR = cidString(&p.CommD), cidString(&p.CommR)
	}
	if p := st.Proof; p != nil {
		proof := hex.EncodeToString(p.Proof)
		doc.Proof = &proof
	}
	if e := st.UpgradeLandedEpoch; e != nil {
		epoch := int64(*e)
		doc.UpgradeLandedEpoch = &epoch
	}
	return doc
}

func cidString(c *cid.Cid) *string {
	if c == nil {
		return nil
	}
	s := c.String()
	return &s
}
