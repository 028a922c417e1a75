package command

import (
	"fmt"
	"strconv"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving"
)

func utilProvingCommand() *cli.Command {
	minerFlag := &cli.StringFlag{Name: "miner", Usage: "the miner (actor id or t0 address), e.g. 10000"}
	deadlineArg := "<deadline index, 0 to 47>"
	return &cli.Command{
		Name:  "proving",
		Usage: "the miner's WindowPoSt deadlines on chain, as the manager reads them",
		Flags: []cli.Flag{minerFlag},
		Subcommands: []*cli.Command{
			{
				Name:   "info",
				Usage:  "the current proving period and deadline, faults and recoveries",
				Flags:  []cli.Flag{minerFlag, jsonFlag()},
				Action: utilProvingInfo,
			},
			{
				Name:   "deadlines",
				Usage:  "every deadline of the proving period: partitions, sectors, faults, proven partitions",
				Flags:  []cli.Flag{minerFlag, jsonFlag()},
				Action: utilProvingDeadlines,
			},
			{
				Name:      "deadline",
				Usage:     "one deadline's partitions with their sectors and faults",
				ArgsUsage: deadlineArg,
				Flags:     []cli.Flag{minerFlag, jsonFlag()},
				Action:    utilProvingDeadline,
			},
			{
				Name:      "check",
				Usage:     "check that the files of a deadline's sectors are in the persist stores, as WindowPoSt will",
				ArgsUsage: deadlineArg,
				Flags: []cli.Flag{minerFlag, jsonFlag(),
					&cli.BoolFlag{Name: "only-bad", Usage: "print only the bad sectors"},
					&cli.BoolFlag{Name: "slow", Usage: "read a byte of every file instead of only looking at it (StrictCheck)"},
				},
				Action: utilProvingCheck,
			},
		},
	}
}

// provingMiner is --miner, given on `proving` or on its subcommand.
func provingMiner(c *cli.Context) (abi.ActorID, error) {
	s := ""
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("miner") {
			s = ctx.String("miner")
			break
		}
	}
	if s == "" {
		return 0, fmt.Errorf("--miner is not set: give the miner whose deadlines to show, e.g. --miner 10000")
	}
	mid, err := parseActor(s)
	if err != nil {
		return 0, fmt.Errorf("--miner: %w", err)
	}
	return mid, nil
}

// deadlineIndex is the <deadline index> argument.
func deadlineIndex(c *cli.Context) (uint64, error) {
	if c.Args().Len() != 1 {
		return 0, fmt.Errorf("want one argument, the deadline index (0 to 47), got %d", c.Args().Len())
	}
	idx, err := strconv.ParseUint(c.Args().First(), 10, 64)
	if err != nil || idx >= 48 {
		return 0, fmt.Errorf("invalid deadline index %q: want a number from 0 to 47", c.Args().First())
	}
	return idx, nil
}

// withProvingInfo calls ProvingInfo for --miner (dlIdx: with that deadline's sectors).
func withProvingInfo(c *cli.Context, dlIdx *uint64, fn func(m *managerConn, info *api.ProvingInfo) error) error {
	mid, err := provingMiner(c)
	if err != nil {
		return err
	}
	return withManager(c, func(m *managerConn) error {
		info, err := m.ProvingInfo(c.Context, mid, dlIdx)
		if err != nil {
			return m.explain("ProvingInfo", err)
		}
		return fn(m, info)
	})
}

func utilProvingInfo(c *cli.Context) error {
	return withProvingInfo(c, nil, func(_ *managerConn, info *api.ProvingInfo) error {
		if c.Bool(flagJSON) {
			s, err := proving.Summarize(info)
			if err != nil {
				return err
			}
			return api.WriteDoc(c.App.Writer, s)
		}
		return proving.WriteInfo(c.App.Writer, info)
	})
}

func utilProvingDeadlines(c *cli.Context) error {
	return withProvingInfo(c, nil, func(_ *managerConn, info *api.ProvingInfo) error {
		if c.Bool(flagJSON) {
			doc, err := proving.Deadlines(info)
			if err != nil {
				return err
			}
			return api.WriteDoc(c.App.Writer, doc)
		}
		return proving.WriteDeadlines(c.App.Writer, info, time.Local)
	})
}

func utilProvingDeadline(c *cli.Context) error {
	idx, err := deadlineIndex(c)
	if err != nil {
		return err
	}
	return withProvingInfo(c, nil, func(_ *managerConn, info *api.ProvingInfo) error {
		if c.Bool(flagJSON) {
			doc, err := proving.Deadline(info, idx)
			if err != nil {
				return err
			}
			return api.WriteDoc(c.App.Writer, doc)
		}
		return proving.WriteDeadline(c.App.Writer, info, idx, time.Local)
	})
}

func utilProvingCheck(c *cli.Context) error {
	idx, err := deadlineIndex(c)
	if err != nil {
		return err
	}
	return withProvingInfo(c, &idx, func(m *managerConn, info *api.ProvingInfo) error {
		if idx >= uint64(len(info.Deadlines)) {
			return fmt.Errorf("deadline index %d is out of range: the miner has %d deadlines", idx, len(info.Deadlines))
		}
		parts := info.Deadlines[idx].Partitions
		bad := make([]map[abi.SectorNumber]string, len(parts))
		for i, p := range parts {
			if bad[i], err = m.CheckProvable(c.Context, info.Miner, p.Sectors, c.Bool("slow")); err != nil {
				return m.explain("CheckProvable", err)
			}
		}
		doc := proving.CheckDoc{Deadline: idx, Sectors: proving.CheckRows(parts, bad, c.Bool("only-bad"))}
		if c.Bool(flagJSON) {
			return api.WriteDoc(c.App.Writer, doc)
		}
		return proving.WriteCheck(c.App.Writer, doc)
	})
}
