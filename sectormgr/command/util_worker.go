package command

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/registry"
)

const workerArg = "<worker instance name>"

func utilWorkerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "manage the workers that ping this manager; info, pause and resume go through the manager to the worker",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the workers that pinged this manager, by name",
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: "expiration", Value: registry.DefaultExpiration,
						Usage: "mark a worker with (!) when its last ping is older than this"},
					jsonFlag(),
				},
				Action: utilWorkerList,
			},
			{
				Name:      "info",
				Usage:     "show the sealing threads of a worker",
				ArgsUsage: workerArg,
				Flags:     []cli.Flag{jsonFlag()},
				Action:    utilWorkerInfo,
			},
			{
				Name:      "pause",
				Usage:     "pause a sealing thread of a worker",
				ArgsUsage: workerArg + " <thread index>",
				Action:    utilWorkerPause,
			},
			{
				Name:      "resume",
				Usage:     "resume a paused sealing thread of a worker, in its current state or in <next state>",
				ArgsUsage: workerArg + " <thread index> [<next state>]",
				Action:    utilWorkerResume,
			},
			{
				Name:      "drain",
				Usage:     "take a worker out of rotation: its threads finish the sector they hold and take no new one (kept across restarts)",
				ArgsUsage: workerArg,
				Action:    func(c *cli.Context) error { return utilWorkerDrain(c, true) },
			},
			{
				Name:      "undrain",
				Usage:     "put a drained worker back in rotation: its empty threads take sectors again",
				ArgsUsage: workerArg,
				Action:    func(c *cli.Context) error { return utilWorkerDrain(c, false) },
			},
			{
				Name:      "remove",
				Usage:     "forget a worker (one that still runs comes back at its next ping)",
				ArgsUsage: "<worker instance name>",
				Action:    utilWorkerRemove,
			},
		},
	}
}

func utilWorkerList(c *cli.Context) error {
	return withManager(c, func(m *managerConn) error {
		workers, err := m.WorkerPingInfoList(c.Context)
		if err != nil {
			return m.explain("WorkerPingInfoList", err)
		}
		if c.Bool(flagJSON) {
			return api.WriteDoc(c.App.Writer, workerList(workers, now(), c.Duration("expiration")))
		}
		return renderWorkerList(c.App.Writer, workers, now(), c.Duration("expiration"))
	})
}

// newTable is the tabwriter of every util table: minwidth 2, tabwidth 4, padding 2, spaces.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
}

// renderWorkerList prints the registry as the original `util worker list` does; the header is
// printed even when no worker pinged.
func renderWorkerList(w io.Writer, workers []api.WorkerPingInfo, at time.Time, expiration time.Duration) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "Name\tDest\tThreads\tEmpty\tPaused\tErrors\tLastPing(with ! if expired)")
	for _, p := range workers {
		warn := ""
		if registry.Expired(p, at, expiration) {
			warn = " (!)"
		}
		s := p.Info.Summary
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s%s\n", p.Info.Name, p.Info.Dest, s.Threads, s.Empty, s.Paused, s.Errors,
			registry.Since(p, at), warn)
	}
	return tw.Flush()
}

func utilWorkerInfo(c *cli.Context) error {
	if !needArgs(c, 1) {
		return nil
	}
	return withManager(c, func(m *managerConn) error {
		name := c.Args().First()
		threads, err := m.WorkerAdminList(c.Context, name)
		if err != nil {
			return m.explain("WorkerList", err)
		}
		drained, err := workerDrained(c, m, name)
		if err != nil {
			return err
		}
		if c.Bool(flagJSON) {
			progress, err := m.WorkerAdminProgress(c.Context, name)
			if err != nil {
				// A worker or a manager of the original has no progress: the document says null.
				fmt.Fprintf(c.App.ErrWriter, "worker progress unavailable, its fields are null: %v\n", err)
			}
			doc := api.NewThreadsDoc(threads, progress, now())
			doc.Drained = &drained
			return api.WriteDoc(c.App.Writer, doc)
		}
		if err := renderThreads(c.App.Writer, threads); err != nil {
			return err
		}
		if drained {
			fmt.Fprintf(c.App.Writer, "drained: %s takes no new sector (util worker undrain %s)\n", name, name)
		}
		return nil
	})
}

// renderThreads prints a worker's threads; an empty list prints nothing, not even the header.
func renderThreads(w io.Writer, threads []api.WorkerThreadInfo) error {
	if len(threads) == 0 {
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "Index\tLoc\tSectorID\tPaused\tPausedElapsed\tState\tLastErr")
	for _, t := range threads {
		sector := "NULL"
		if t.SectorID != nil {
			sector = api.FormatSectorID(*t.SectorID)
		}
		elapsed := "NULL"
		if t.PausedElapsed != nil {
			elapsed = (time.Duration(*t.PausedElapsed) * time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%v\t%s\t%s\t%s\n", t.Index, t.Location, sector, t.Paused, elapsed, t.State, orNull(t.LastError))
	}
	return tw.Flush()
}

func orNull(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

// threadTarget reads <worker> <thread index> and asks the manager where it reaches that worker,
// for the log line; errors are labelled with method, the call the operator asked for.
func threadTarget(c *cli.Context, m *managerConn, method string) (name, dest string, index uint64, err error) {
	name = c.Args().Get(0)
	index, err = strconv.ParseUint(c.Args().Get(1), 10, 64)
	if err != nil {
		return "", "", 0, fmt.Errorf("parse thread index: %q is not a thread index (see the Index column of util worker info %s)", c.Args().Get(1), name)
	}
	dest, err = m.WorkerResolveDest(c.Context, name)
	if err != nil {
		return "", "", 0, m.explain(method, err)
	}
	return name, dest, index, nil
}

func utilWorkerPause(c *cli.Context) error {
	if !needArgs(c, 2) {
		return nil
	}
	return withManager(c, func(m *managerConn) error {
		name, dest, index, err := threadTarget(c, m, "WorkerPause")
		if err != nil {
			return err
		}
		ok, err := m.WorkerAdminPause(c.Context, name, index)
		if err != nil {
			return m.explain("WorkerPause", err)
		}
		cliLogger(c).Infow(fmt.Sprintf("pause call done, ok = %v", ok), "name", name, "dest", dest, "index", index)
		return nil
	})
}

func utilWorkerResume(c *cli.Context) error {
	if !needArgs(c, 2) {
		return nil
	}
	var setTo *string
	if state := c.Args().Get(2); state != "" {
		setTo = &state
	}
	return withManager(c, func(m *managerConn) error {
		name, dest, index, err := threadTarget(c, m, "WorkerResume")
		if err != nil {
			return err
		}
		ok, err := m.WorkerAdminResume(c.Context, name, index, setTo)
		if err != nil {
			return m.explain("WorkerResume", err)
		}
		cliLogger(c).Infow(fmt.Sprintf("resume call done, ok = %v", ok), "name", name, "dest", dest, "index", index, "state", setTo)
		return nil
	})
}

func utilWorkerRemove(c *cli.Context) error {
	if !needArgs(c, 1) {
		return nil
	}
	name := c.Args().First()
	return withManager(c, func(m *managerConn) error {
		if err := m.WorkerPingInfoRemove(c.Context, name); err != nil {
			return m.explain("WorkerPingInfoRemove", err)
		}
		fmt.Fprintf(c.App.Writer, "'%s' removed\n", name)
		return nil
	})
}

// workerDrained is the drain state of the worker's last ping.
func workerDrained(c *cli.Context, m *managerConn, name string) (bool, error) {
	p, err := m.WorkerGetPingInfo(c.Context, name)
	if err != nil {
		return false, m.explain("WorkerGetPingInfo", err)
	}
	return p != nil && p.Info.Drained, nil
}

func utilWorkerDrain(c *cli.Context, drained bool) error {
	if !needArgs(c, 1) {
		return nil
	}
	name := c.Args().First()
	return withManager(c, func(m *managerConn) error {
		dest, err := m.WorkerResolveDest(c.Context, name)
		if err != nil {
			return m.explain("WorkerDrain", err)
		}
		changed, err := m.WorkerAdminDrain(c.Context, name, drained)
		if err != nil {
			return m.explain("WorkerDrain", err)
		}
		verb := map[bool]string{true: "drain", false: "undrain"}[drained]
		cliLogger(c).Infow(fmt.Sprintf("%s call done, changed = %v", verb, changed), "name", name, "dest", dest)
		return nil
	})
}
