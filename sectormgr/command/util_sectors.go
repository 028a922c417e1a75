package command

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

const sectorArgs = "<miner actor id> <sector number>"

func utilSealerCommand() *cli.Command {
	return &cli.Command{
		Name:  "sealer",
		Usage: "the manager's sealing state",
		Subcommands: []*cli.Command{utilProvingCommand(), {
			Name:  "sectors",
			Usage: "sector states kept by the manager",
			Subcommands: []*cli.Command{
				{
					Name:  "list",
					Usage: "list the sectors being sealed (or, with --offline, the finalized and aborted ones)",
					Flags: []cli.Flag{
						&cli.BoolFlag{Name: "offline", Usage: "list the offline store: finalized and aborted sectors"},
						&cli.BoolFlag{Name: "sealing", Value: true, Usage: "list sealing (not upgraded) sectors"},
						&cli.BoolFlag{Name: "snapup", Usage: "list snap-up (upgraded) sectors; with --sealing, list both"},
						&cli.StringFlag{Name: "miner", Usage: "only the sectors of this miner (actor id or t0 address)"},
						&cli.BoolFlag{Name: "orphans", Usage: "only orphans: online sectors that no worker has called about since their allocation " +
							"(a worker killed between AllocateSector and saving its job); abort them with `sectors abort`"},
						jsonFlag(),
					},
					Action: utilSectorsList,
				},
				{
					Name:      "state",
					Usage:     "show everything the manager keeps about a sector, with its state history",
					ArgsUsage: sectorArgs,
					Flags: []cli.Flag{
						&cli.BoolFlag{Name: "offline", Usage: "look in the offline store: finalized and aborted sectors"},
						jsonFlag(),
					},
					Action: utilSectorsState,
				},
				{
					Name:      "abort",
					Usage:     "abort a sector being sealed: its worker drops it at its next call to the manager",
					ArgsUsage: sectorArgs,
					Action:    utilSectorsAbort,
				},
				{
					Name:      "restore",
					Usage:     "bring an aborted sector back online",
					ArgsUsage: sectorArgs,
					Flags: []cli.Flag{
						&cli.BoolFlag{Name: "force", Usage: "restore even a finalized sector or one with deals"},
					},
					Action: utilSectorsRestore,
				},
			},
		}},
	}
}

func sectorStore(offline bool) api.SectorWorkerState {
	if offline {
		return api.WorkerOffline
	}
	return api.WorkerOnline
}

// jobFilter maps --sealing/--snapup as the original does: both is all, --snapup alone is
// snap-up, anything else (neither included) is sealing.
func jobFilter(sealing, snapup bool) api.SectorWorkerJob {
	switch {
	case sealing && snapup:
		return api.SectorWorkerJobAll
	case snapup:
		return api.SectorWorkerJobSnapUp
	default:
		return api.SectorWorkerJobSealing
	}
}

func utilSectorsList(c *cli.Context) error {
	var onlyMiner *uint64
	if s := c.String("miner"); s != "" {
		id, err := parseActor(s)
		if err != nil {
			return fmt.Errorf("--miner: %w", err)
		}
		m := uint64(id)
		onlyMiner = &m
	}
	orphans := c.Bool("orphans")
	if orphans && c.Bool("offline") {
		return fmt.Errorf("--orphans lists online sectors only: drop --offline")
	}
	return withManager(c, func(m *managerConn) error {
		states, err := m.ListSectors(c.Context, sectorStore(c.Bool("offline")), jobFilter(c.Bool("sealing"), c.Bool("snapup")))
		if err != nil {
			return m.explain("ListSectors", err)
		}
		if onlyMiner != nil {
			states = filterMiner(states, *onlyMiner)
		}
		if orphans {
			states = filterOrphans(states)
		}
		if c.Bool(flagJSON) {
			return api.WriteDoc(c.App.Writer, sectorList(states))
		}
		renderSectorList(c.App.Writer, states)
		return nil
	})
}

// filterOrphans keeps the sectors that nothing but their allocation touched (sectors.IsOrphan);
// one allocated within the last moments shows too, until its first report arrives.
func filterOrphans(states []*api.SectorState) []*api.SectorState {
	var out []*api.SectorState
	for _, st := range states {
		if sectors.IsOrphan(st) {
			out = append(out, st)
		}
	}
	return out
}

func filterMiner(states []*api.SectorState, miner uint64) []*api.SectorState {
	var out []*api.SectorState
	for _, st := range states {
		if uint64(st.ID.Miner) == miner {
			out = append(out, st)
		}
	}
	return out
}

// renderSectorList prints sectors as the original `util sealer sectors list` does. A sector
// without a reported state prints NULL and nothing more.
func renderSectorList(w io.Writer, states []*api.SectorState) {
	fmt.Fprintln(w, "Sectors:")
	for _, st := range states {
		mark := ""
		if st.Upgraded {
			mark = "(up)"
		}
		fmt.Fprintf(w, "%s%s:\n", api.FormatSectorID(st.ID), mark)
		if st.LatestState == nil {
			fmt.Fprintln(w, "NULL")
			continue
		}
		fmt.Fprintf(w, "\tWorker: %s @ %s\n", st.LatestState.Worker.Instance, st.LatestState.Worker.Location)
		fmt.Fprintf(w, "\tState: %s => %s @%s\n", st.LatestState.StateChange.Prev, st.LatestState.StateChange.Next, st.LatestState.StateChange.Event)
		fmt.Fprintf(w, "\tFinalized: %v, Removed: %v\n", st.Finalized, st.Removed)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Count: %d\n", len(states))
}

func utilSectorsState(c *cli.Context) error {
	if !needArgs(c, 2) {
		return nil
	}
	sid, err := parseSectorID(c)
	if err != nil {
		return err
	}
	offline := c.Bool("offline")
	return withManager(c, func(m *managerConn) error {
		st, err := m.FindSector(c.Context, sectorStore(offline), sid)
		if err != nil {
			if api.IsSectorStateNotFound(err) && !offline {
				return fmt.Errorf("%w (a finalized or aborted sector is in the offline store: add --offline)", m.explain("FindSector", err))
			}
			return m.explain("FindSector", err)
		}
		history, err := m.SectorHistory(c.Context, sid)
		if err != nil {
			return m.explain("SectorHistory", err)
		}
		if c.Bool(flagJSON) {
			return api.WriteDoc(c.App.Writer, sectorState(st, history))
		}
		renderSectorState(c.App.Writer, st, history)
		return nil
	})
}

// renderSectorState prints a sector as the original `util sealer sectors state` does, plus the
// history of its reports under LatestState (ours) and the SealedCID the original misprints.
func renderSectorState(w io.Writer, st *api.SectorState, history []api.SectorHistoryEntry) {
	fmt.Fprintf(w, "Sector %s: \n\n", api.FormatSectorID(st.ID))

	fmt.Fprintln(w, "Common:")
	fmt.Fprintf(w, "\tFinalized: %v\n", st.Finalized)
	fmt.Fprintf(w, "\tRemoved: %v\n", st.Removed)
	reason := "NULL"
	if st.AbortReason != "" {
		reason = indent(st.AbortReason, 2)
	}
	fmt.Fprintf(w, "\tAborting: \n\t\t%s\n", reason)

	fmt.Fprintln(w, "\nLatestState:")
	renderLatestState(w, st.LatestState)
	renderHistory(w, history)

	fmt.Fprintln(w, "\nDeals:")
	renderDeals(w, st.Pieces)

	fmt.Fprintln(w, "\nSealing:")
	renderSealing(w, st)

	fmt.Fprintln(w, "\nSnapUp:")
	renderSnapUp(w, st)

	fmt.Fprintln(w, "\nTermination:")
	fmt.Fprintf(w, "\tTerminate Message: %s\n", cidOrNull(st.TerminateInfo.TerminateCid))
	fmt.Fprintln(w)
}

// indent puts tabs after every line break of s, so a multi-line text stays under its label.
func indent(s string, tabs int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat("\t", tabs))
}

func renderLatestState(w io.Writer, latest *api.ReportStateReq) {
	if latest == nil {
		fmt.Fprintln(w, "\tState Change: NULL")
		fmt.Fprintln(w, "\tWorker: NULL")
		fmt.Fprintln(w, "\tFailure: NULL")
		return
	}
	change := latest.StateChange
	fmt.Fprintf(w, "\tState Change: %s => %s, by %s\n", change.Prev, change.Next, change.Event)
	fmt.Fprintf(w, "\tWorker: %s(%s)\n", latest.Worker.Instance, latest.Worker.Location)
	fmt.Fprintf(w, "\tFailure: %s\n", failureText(latest.Failure, 2))
}

func failureText(f *api.SectorFailure, tabs int) string {
	if f == nil {
		return "NULL"
	}
	prefix := "\n" + strings.Repeat("\t", tabs)
	return prefix + indent(fmt.Sprintf("[%s] %s", f.Level, f.Desc), tabs)
}

// renderHistory lists every report the manager received for the sector, oldest first.
func renderHistory(w io.Writer, history []api.SectorHistoryEntry) {
	if len(history) == 0 {
		fmt.Fprintln(w, "\tHistory: NULL")
		return
	}
	fmt.Fprintln(w, "\tHistory:")
	for _, h := range history {
		fmt.Fprintf(w, "\t\t%s %s => %s, by %s, on %s(%s)\n", h.Time.UTC().Format(historyTimeFormat),
			h.StateChange.Prev, h.StateChange.Next, h.StateChange.Event, h.Worker.Instance, h.Worker.Location)
		if h.Failure != nil {
			fmt.Fprintf(w, "\t\t\tFailure: %s\n", indent(fmt.Sprintf("[%s] %s", h.Failure.Level, h.Failure.Desc), 4))
		}
	}
}

// historyTimeFormat is RFC 3339 with milliseconds: reports of one sector can come close together.
const historyTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func renderDeals(w io.Writer, pieces api.Deals) {
	if len(pieces) == 0 {
		fmt.Fprintln(w, "\tNULL")
		return
	}
	for _, p := range pieces {
		if p.ID == 0 {
			continue
		}
		fmt.Fprintf(w, "\tID: %d\n", p.ID)
		fmt.Fprintf(w, "\tPiece: %v\n", p.Piece)
	}
}

func renderSealing(w io.Writer, st *api.SectorState) {
	if st.Ticket != nil {
		fmt.Fprintf(w, "\tTicket: (%d) %s\n", st.Ticket.Epoch, hex.EncodeToString(st.Ticket.Ticket))
	} else {
		fmt.Fprintln(w, "\tTicket: NULL")
	}
	fmt.Fprintln(w, "\tPreCommit Info:")
	if st.Pre != nil {
		fmt.Fprintf(w, "\t\tCommD: %s\n", st.Pre.CommD)
		fmt.Fprintf(w, "\t\tCommR: %s\n", st.Pre.CommR)
	} else {
		fmt.Fprintln(w, "\t\tNULL")
	}
	fmt.Fprintf(w, "\tPreCommit Message: %s\n", cidOrNull(st.MessageInfo.PreCommitCid))
	if st.Seed != nil {
		fmt.Fprintf(w, "\tSeed: (%d) %s\n", st.Seed.Epoch, hex.EncodeToString(st.Seed.Seed))
	} else {
		fmt.Fprintln(w, "\tSeed: NULL")
	}
	fmt.Fprintln(w, "\tProveCommit Info:")
	if st.Proof != nil {
		fmt.Fprintf(w, "\t\tProof: %s\n", hex.EncodeToString(st.Proof.Proof))
	} else {
		fmt.Fprintln(w, "\t\tNULL")
	}
	fmt.Fprintf(w, "\tProveCommit Message: %s\n", cidOrNull(st.MessageInfo.CommitCid))
	fmt.Fprintf(w, "\tMessage NeedSend: %v\n", st.MessageInfo.NeedSend)
}

func renderSnapUp(w io.Writer, st *api.SectorState) {
	fmt.Fprintf(w, "\tUpgraded: %v\n", st.Upgraded)
	if st.Upgraded && st.UpgradedInfo != nil {
		fmt.Fprintf(w, "\tUnsealedCID: %s\n", st.UpgradedInfo.UnsealedCID)
		fmt.Fprintf(w, "\tSealedCID: %s\n", st.UpgradedInfo.SealedCID)
		fmt.Fprintf(w, "\tProof: %s\n", hex.EncodeToString(st.UpgradedInfo.Proof))
	}
	if st.UpgradeMessageID != nil {
		fmt.Fprintf(w, "\tUpgrade Message: %s\n", *st.UpgradeMessageID)
	}
	if st.UpgradeLandedEpoch != nil {
		fmt.Fprintf(w, "\tLanded Epoch: %d\n", *st.UpgradeLandedEpoch)
	}
}

func cidOrNull(c *cid.Cid) string {
	if c == nil {
		return "NULL"
	}
	return c.String()
}

func utilSectorsAbort(c *cli.Context) error {
	if !needArgs(c, 2) {
		return nil
	}
	sid, err := parseSectorID(c)
	if err != nil {
		return err
	}
	return withManager(c, func(m *managerConn) error {
		// The manager acknowledges a repeated abort (a worker retrying a lost reply), so whether
		// there is anything to abort is asked first.
		_, err := m.FindSector(c.Context, api.WorkerOnline, sid)
		if err == nil {
			err = m.ReportAborted(c.Context, sid, "aborted via CLI")
		}
		if api.IsSectorStateNotFound(err) {
			return fmt.Errorf("sector %s is not online (finalized, aborted or never allocated): nothing to abort", api.FormatSectorID(sid))
		}
		if err != nil {
			return m.explain("ReportAborted", err)
		}
		cliLogger(c).Infow("sector aborted", "sector", api.FormatSectorID(sid))
		return nil
	})
}

func utilSectorsRestore(c *cli.Context) error {
	if !needArgs(c, 2) {
		return nil
	}
	sid, err := parseSectorID(c)
	if err != nil {
		return err
	}
	return withManager(c, func(m *managerConn) error {
		if err := m.RestoreSector(c.Context, sid, c.Bool("force")); err != nil {
			return m.explain("RestoreSector", err)
		}
		cliLogger(c).Infow("sector restored", "sector", api.FormatSectorID(sid))
		return nil
	})
}
