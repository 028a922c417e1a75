package proving

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// The outputs of `util sealer proving`, as the original (after lotus-miner) prints them, and
// the documents of their --json.

// Summary is what `proving info` shows.
type Summary struct {
	Miner                 string          `json:"miner"`
	CurrentEpoch          abi.ChainEpoch  `json:"current_epoch"`
	ProvingPeriodBoundary abi.ChainEpoch  `json:"proving_period_boundary"`
	ProvingPeriodStart    abi.ChainEpoch  `json:"proving_period_start"`
	NextPeriodStart       abi.ChainEpoch  `json:"next_period_start"`
	ProvingSectors        uint64          `json:"proving_sectors"`
	Faults                uint64          `json:"faults"`
	FaultPercent          float64         `json:"fault_percent"`
	Recovering            uint64          `json:"recovering"`
	Deadline              DeadlineSummary `json:"deadline"`
}

// DeadlineSummary is the current deadline of Summary.
type DeadlineSummary struct {
	Index       uint64         `json:"index"`
	Sectors     uint64         `json:"sectors"`
	Open        abi.ChainEpoch `json:"open"`
	Close       abi.ChainEpoch `json:"close"`
	Challenge   abi.ChainEpoch `json:"challenge"`
	FaultCutoff abi.ChainEpoch `json:"fault_cutoff"`
}

// Summarize counts the live, faulty and recovering sectors of every partition.
func Summarize(info *api.ProvingInfo) (Summary, error) {
	di := info.Deadline
	s := Summary{
		Miner: minerAddr(info.Miner), CurrentEpoch: di.CurrentEpoch,
		ProvingPeriodBoundary: di.PeriodStart % di.WPoStProvingPeriod,
		ProvingPeriodStart:    di.PeriodStart, NextPeriodStart: di.PeriodStart + di.WPoStProvingPeriod,
		Deadline: DeadlineSummary{Index: di.Index, Open: di.Open, Close: di.Close, Challenge: di.Challenge, FaultCutoff: di.FaultCutoff},
	}
	for idx, dl := range info.Deadlines {
		for _, p := range dl.Partitions {
			live, err := p.LiveSectors.Count()
			if err != nil {
				return Summary{}, err
			}
			faults, err := p.FaultySectors.Count()
			if err != nil {
				return Summary{}, err
			}
			recovering, err := p.RecoveringSectors.Count()
			if err != nil {
				return Summary{}, err
			}
			s.ProvingSectors += live
			s.Faults += faults
			s.Recovering += recovering
			if uint64(idx) == di.Index {
				s.Deadline.Sectors += live
			}
		}
	}
	if s.ProvingSectors > 0 {
		// Whole percents, as the original computes them.
		s.FaultPercent = float64(s.Faults * 100 / s.ProvingSectors)
	}
	return s, nil
}

// WriteInfo prints `proving info`.
func WriteInfo(w io.Writer, info *api.ProvingInfo) error {
	s, err := Summarize(info)
	if err != nil {
		return err
	}
	at := func(e abi.ChainEpoch) string { return EpochTime(s.CurrentEpoch, e, info.BlockDelaySecs) }
	fmt.Fprintf(w, "Sealer: %s\n", s.Miner)
	fmt.Fprintf(w, "Current Epoch:           %d\n", s.CurrentEpoch)
	fmt.Fprintf(w, "Proving Period Boundary: %d\n", s.ProvingPeriodBoundary)
	fmt.Fprintf(w, "Proving Period Start:    %s\n", at(s.ProvingPeriodStart))
	fmt.Fprintf(w, "Next Period Start:       %s\n\n", at(s.NextPeriodStart))
	fmt.Fprintf(w, "Faults:      %d (%.2f%%)\n", s.Faults, s.FaultPercent)
	fmt.Fprintf(w, "Recovering:  %d\n", s.Recovering)
	fmt.Fprintf(w, "Deadline Index:       %d\n", s.Deadline.Index)
	fmt.Fprintf(w, "Deadline Sectors:     %d\n", s.Deadline.Sectors)
	fmt.Fprintf(w, "Deadline Open:        %s\n", at(s.Deadline.Open))
	fmt.Fprintf(w, "Deadline Close:       %s\n", at(s.Deadline.Close))
	fmt.Fprintf(w, "Deadline Challenge:   %s\n", at(s.Deadline.Challenge))
	_, err = fmt.Fprintf(w, "Deadline FaultCutoff: %s\n", at(s.Deadline.FaultCutoff))
	return err
}

// DeadlineRow is one line of `proving deadlines`.
type DeadlineRow struct {
	Index            uint64 `json:"index"`
	Open             string `json:"open"` // RFC 3339 UTC; the table shows the local clock time
	Partitions       int    `json:"partitions"`
	Sectors          uint64 `json:"sectors"`
	Faults           uint64 `json:"faults"`
	ProvenPartitions uint64 `json:"proven_partitions"`
	Current          bool   `json:"current"`

	open time.Time
}

// DeadlinesDoc is the document of `proving deadlines --json`.
type DeadlinesDoc struct {
	Miner     string        `json:"miner"`
	Deadlines []DeadlineRow `json:"deadlines"`
}

// Deadlines is a row for each of the 48 deadlines.
func Deadlines(info *api.ProvingInfo) (DeadlinesDoc, error) {
	doc := DeadlinesDoc{Miner: minerAddr(info.Miner), Deadlines: []DeadlineRow{}}
	for idx, dl := range info.Deadlines {
		row := DeadlineRow{Index: uint64(idx), Partitions: len(dl.Partitions), Current: uint64(idx) == info.Deadline.Index,
			open: OpenTime(info, uint64(idx))}
		row.Open = row.open.UTC().Format(time.RFC3339)
		proven, err := dl.PostSubmissions.Count()
		if err != nil {
			return DeadlinesDoc{}, err
		}
		row.ProvenPartitions = proven
		for _, p := range dl.Partitions {
			n, err := p.AllSectors.Count()
			if err != nil {
				return DeadlinesDoc{}, err
			}
			f, err := p.FaultySectors.Count()
			if err != nil {
				return DeadlinesDoc{}, err
			}
			row.Sectors += n
			row.Faults += f
		}
		doc.Deadlines = append(doc.Deadlines, row)
	}
	return doc, nil
}

// WriteDeadlines prints `proving deadlines`, open times in loc.
func WriteDeadlines(w io.Writer, info *api.ProvingInfo, loc *time.Location) error {
	doc, err := Deadlines(info)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Sealer: %s\n", doc.Miner)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "deadline\topen\tpartitions\tsectors (faults)\tproven partitions")
	for _, r := range doc.Deadlines {
		cur := ""
		if r.Current {
			cur = "\t(current)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d (%d)\t%d%s\n", r.Index, r.open.In(loc).Format("15:04:05"), r.Partitions, r.Sectors, r.Faults, r.ProvenPartitions, cur)
	}
	return tw.Flush()
}

// DeadlineDoc is the document of `proving deadline <idx> --json`.
type DeadlineDoc struct {
	Index            uint64         `json:"index"`
	Open             string         `json:"open"`
	ProvenPartitions uint64         `json:"proven_partitions"`
	Current          bool           `json:"current"`
	Partitions       []PartitionDoc `json:"partitions"`

	open time.Time
}

// PartitionDoc is a partition of DeadlineDoc.
type PartitionDoc struct {
	Index      int      `json:"index"`
	Sectors    []uint64 `json:"sectors"`
	Faults     []uint64 `json:"faults"`
	Recovering []uint64 `json:"recovering"`
}

// Deadline is what `proving deadline <idx>` shows of deadline idx.
func Deadline(info *api.ProvingInfo, idx uint64) (DeadlineDoc, error) {
	if idx >= uint64(len(info.Deadlines)) {
		return DeadlineDoc{}, fmt.Errorf("deadline index %d is out of range: the miner has %d deadlines, 0 to %d", idx, len(info.Deadlines), len(info.Deadlines)-1)
	}
	dl := info.Deadlines[idx]
	proven, err := dl.PostSubmissions.Count()
	if err != nil {
		return DeadlineDoc{}, err
	}
	doc := DeadlineDoc{Index: idx, ProvenPartitions: proven, Current: idx == info.Deadline.Index, open: OpenTime(info, idx), Partitions: []PartitionDoc{}}
	doc.Open = doc.open.UTC().Format(time.RFC3339)
	for i, p := range dl.Partitions {
		pd := PartitionDoc{Index: i}
		for _, f := range []struct {
			bf  bitfield.BitField
			out *[]uint64
		}{{p.AllSectors, &pd.Sectors}, {p.FaultySectors, &pd.Faults}, {p.RecoveringSectors, &pd.Recovering}} {
			nums, err := f.bf.All(1 << 20)
			if err != nil {
				return DeadlineDoc{}, err
			}
			*f.out = append([]uint64{}, nums...)
		}
		doc.Partitions = append(doc.Partitions, pd)
	}
	return doc, nil
}

// WriteDeadline prints `proving deadline <idx>`.
func WriteDeadline(w io.Writer, info *api.ProvingInfo, idx uint64, loc *time.Location) error {
	doc, err := Deadline(info, idx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Deadline Index:           %d\n", doc.Index)
	fmt.Fprintf(w, "Deadline Open:            %s\n", doc.open.In(loc).Format("15:04:05"))
	fmt.Fprintf(w, "Partitions:               %d\n", len(doc.Partitions))
	fmt.Fprintf(w, "Proven Partitions:        %d\n", doc.ProvenPartitions)
	fmt.Fprintf(w, "Current:                  %t\n\n", doc.Current)
	for _, p := range doc.Partitions {
		fmt.Fprintf(w, "Partition Index:          %d\n", p.Index)
		fmt.Fprintf(w, "Sectors:                  %d\n", len(p.Sectors))
		fmt.Fprintf(w, "Sector Numbers:           %v\n", p.Sectors)
		fmt.Fprintf(w, "Faults:                   %d\n", len(p.Faults))
		fmt.Fprintf(w, "Faulty Sectors:           %d\n", p.Faults)
	}
	return nil
}

// CheckRow is one sector of `proving check`.
type CheckRow struct {
	Partition int    `json:"partition"`
	Sector    uint64 `json:"sector"`
	Good      bool   `json:"good"`
	Error     string `json:"error,omitempty"`
}

// CheckDoc is the document of `proving check <idx> --json`.
type CheckDoc struct {
	Deadline uint64     `json:"deadline"`
	Sectors  []CheckRow `json:"sectors"`
}

// CheckRows turns CheckProvable's answers, one per partition, into rows in sector order.
func CheckRows(parts []api.ProvingPartition, bad []map[abi.SectorNumber]string, onlyBad bool) []CheckRow {
	rows := []CheckRow{}
	for i, p := range parts {
		for _, s := range sortedSectors(p.Sectors) {
			reason, isBad := bad[i][s.SectorNumber]
			if !isBad && onlyBad {
				continue
			}
			rows = append(rows, CheckRow{Partition: i, Sector: uint64(s.SectorNumber), Good: !isBad, Error: reason})
		}
	}
	return rows
}

func sortedSectors(s []proof.ExtendedSectorInfo) []proof.ExtendedSectorInfo {
	out := append([]proof.ExtendedSectorInfo{}, s...)
	sort.Slice(out, func(i, j int) bool { return out[i].SectorNumber < out[j].SectorNumber })
	return out
}

// WriteCheck prints `proving check <idx>`.
func WriteCheck(w io.Writer, doc CheckDoc) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "deadline\tpartition\tsector\tstatus")
	for _, r := range doc.Sectors {
		status := "good"
		if !r.Good {
			status = fmt.Sprintf("bad (%s)", r.Error)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\n", doc.Deadline, r.Partition, r.Sector, status)
	}
	return tw.Flush()
}

// OpenTime is when deadline idx opens (or opened) in the current proving period, told from the
// head's timestamp.
func OpenTime(info *api.ProvingInfo, idx uint64) time.Time {
	di := info.Deadline
	open := di.Open + abi.ChainEpoch(int64(idx)-int64(di.Index))*di.WPoStChallengeWindow
	genesis := int64(info.HeadTimestamp) - int64(di.CurrentEpoch)*int64(info.BlockDelaySecs)
	return time.Unix(genesis+int64(open)*int64(info.BlockDelaySecs), 0)
}

// EpochTime is an epoch and how far it is from the current one: "1440 (4 hours 30 minutes ago)",
// "2040 (in 30 minutes)", "2000 (now)".
func EpochTime(curr, e abi.ChainEpoch, blockDelay uint64) string {
	switch {
	case curr > e:
		return fmt.Sprintf("%d (%s ago)", e, approxDuration(time.Duration(int64(curr-e)*int64(blockDelay))*time.Second))
	case curr < e:
		return fmt.Sprintf("%d (in %s)", e, approxDuration(time.Duration(int64(e-curr)*int64(blockDelay))*time.Second))
	}
	return fmt.Sprintf("%d (now)", e)
}

// approxDuration is d in its two largest units, as the original's durafmt LimitFirstN(2) shows it.
func approxDuration(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{{"year", 365 * 24 * time.Hour}, {"week", 7 * 24 * time.Hour}, {"day", 24 * time.Hour},
		{"hour", time.Hour}, {"minute", time.Minute}, {"second", time.Second}}
	var parts []string
	for _, u := range units {
		n := d / u.size
		if n == 0 {
			continue
		}
		d -= n * u.size
		name := u.name
		if n > 1 {
			name += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	return strings.Join(parts, " ")
}

func minerAddr(mid abi.ActorID) string {
	a, err := address.NewIDAddress(uint64(mid))
	if err != nil {
		return fmt.Sprint(mid)
	}
	return a.String()
}
