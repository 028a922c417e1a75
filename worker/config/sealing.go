package config

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Plans of a sealing thread.
const (
	PlanSealer = "sealer"
	PlanSnapUp = "snapup"
)

// Thread is one [[sealing_thread]] with its effective sealing values.
type Thread struct {
	Index    int    // position in the file; the store layer may drop duplicate locations
	Location string // as written; the store layer canonicalises it
	Plan     string // PlanSealer or PlanSnapUp
	Sealing  Sealing
}

// Sealing holds the effective sealing options of a thread: its own sealing.<key> when written,
// else [sealing].<key>, else the default.
type Sealing struct {
	AllowedMiners      []abi.ActorID             // nil: any miner
	AllowedProofTypes  []abi.RegisteredSealProof // nil: any size; from allowed_sizes
	EnableDeals        bool
	DisableCC          bool
	MaxDeals           *uint   // nil: no limit
	MinDealSpace       *uint64 // bytes; nil: none
	MaxRetries         uint32
	SealInterval       time.Duration
	RecoverInterval    time.Duration
	RPCPollingInterval time.Duration
	IgnoreProofCheck   bool
	// ReserveSpaceTimeout (reserve_space_timeout, ours; default 1h) bounds how long a persist
	// step asks the manager for a store with room (Venus.StoreReserveSpace answering null, every
	// rpc_polling_interval) before it fails as a temporary failure, which is retried as usual up
	// to max_retries and then pauses the thread: a full cluster shows up as a paused thread with
	// the reason instead of a thread that waits silently for good.
	ReserveSpaceTimeout time.Duration
}

// sectorSizesWanted ends every error about a sector size.
const sectorSizesWanted = "one of 2KiB, 8MiB, 512MiB, 32GiB, 64GiB"

func defaultSealing() Sealing {
	return Sealing{
		MaxRetries:          5,
		SealInterval:        30 * time.Second,
		RecoverInterval:     60 * time.Second,
		RPCPollingInterval:  180 * time.Second,
		ReserveSpaceTimeout: DefaultReserveSpaceTimeout,
	}
}

// DefaultReserveSpaceTimeout is sealing.reserve_space_timeout when it is not written.
const DefaultReserveSpaceTimeout = time.Hour

func buildThreads(raws []rawSealingThread, global Sealing, p *problems) []Thread {
	if len(raws) == 0 {
		p.addf("sealing_thread: no [[sealing_thread]] found: add at least one with a location")
		return nil
	}
	threads := make([]Thread, 0, len(raws))
	for i, r := range raws {
		key := fmt.Sprintf("sealing_thread[%d]", i)
		t := Thread{Index: i, Location: deref(r.Location), Plan: PlanSealer}
		if t.Location == "" {
			p.addf("%s.location is required: want the directory of the sealing store", key)
		}
		if r.Plan != nil {
			t.Plan = *r.Plan
			if t.Plan != PlanSealer && t.Plan != PlanSnapUp {
				p.addf("%s.plan: unknown plan %q: want %q or %q", key, t.Plan, PlanSealer, PlanSnapUp)
			}
		}
		t.Sealing = resolveSealing(r.Sealing, key+".sealing", global, p)
		threads = append(threads, t)
	}
	return threads
}

// resolveSealing overrides base with each key written in raw; prefix names raw's table in errors.
func resolveSealing(raw rawSealing, prefix string, base Sealing, p *problems) Sealing {
	s := base
	s.AllowedMiners = slices.Clone(base.AllowedMiners)
	s.AllowedProofTypes = slices.Clone(base.AllowedProofTypes)
	key := func(name string) string { return prefix + "." + name }

	if raw.AllowedMiners != nil {
		s.AllowedMiners = parseMiners(*raw.AllowedMiners, key("allowed_miners"), p)
	}
	if raw.AllowedSizes != nil {
		s.AllowedProofTypes = parseProofTypes(*raw.AllowedSizes, key("allowed_sizes"), p)
	}
	setIf(&s.EnableDeals, raw.EnableDeals)
	setIf(&s.DisableCC, raw.DisableCC)
	setIf(&s.IgnoreProofCheck, raw.IgnoreProofCheck)
	if raw.MaxDeals != nil {
		if *raw.MaxDeals < 0 {
			p.addf("%s: invalid value %d: want 0 or more", key("max_deals"), *raw.MaxDeals)
		} else {
			n := uint(*raw.MaxDeals)
			s.MaxDeals = &n
		}
	}
	if raw.MinDealSpace != nil {
		if n, ok := parseSizeValue(raw.MinDealSpace, key("min_deal_space"), p); ok {
			s.MinDealSpace = &n
		}
	}
	if raw.MaxRetries != nil {
		if *raw.MaxRetries < 0 || *raw.MaxRetries > math.MaxUint32 {
			p.addf("%s: invalid value %d: want 0..%d", key("max_retries"), *raw.MaxRetries, uint32(math.MaxUint32))
		} else {
			s.MaxRetries = uint32(*raw.MaxRetries)
		}
	}
	setDuration(&s.SealInterval, raw.SealInterval, key("seal_interval"), p)
	setDuration(&s.RecoverInterval, raw.RecoverInterval, key("recover_interval"), p)
	setDuration(&s.RPCPollingInterval, raw.RPCPollingInterval, key("rpc_polling_interval"), p)
	setDuration(&s.ReserveSpaceTimeout, raw.ReserveSpaceTimeout, key("reserve_space_timeout"), p)
	return s
}

// parseMiners reads actor ids; an empty list means any miner, as an absent one does.
func parseMiners(ids []int64, key string, p *problems) []abi.ActorID {
	var out []abi.ActorID
	for i, id := range ids {
		if id < 0 {
			p.addf("%s[%d]: invalid miner actor id %d: want the number of t0<id>, e.g. 10000", key, i, id)
			continue
		}
		out = append(out, abi.ActorID(id))
	}
	return out
}

func parseProofTypes(sizes []string, key string, p *problems) []abi.RegisteredSealProof {
	var out []abi.RegisteredSealProof
	for i, size := range sizes {
		_, proof, err := api.ParseSectorSize(size)
		if err != nil {
			p.addf("%s[%d]: invalid sector size %q: want %s", key, i, size, sectorSizesWanted)
			continue
		}
		out = append(out, proof)
	}
	return out
}

// parseSizeValue reads a byte size written as a string ("1KiB") or as a plain byte count.
func parseSizeValue(v any, key string, p *problems) (uint64, bool) {
	switch v := v.(type) {
	case string:
		n, err := api.ParseByteSize(v)
		if err != nil {
			p.addf("%s: %v", key, err)
			return 0, false
		}
		return n, true
	case int64:
		if v >= 0 {
			return uint64(v), true
		}
	}
	p.addf("%s: invalid size %v: want a size such as \"1KiB\" or \"32GiB\"", key, v)
	return 0, false
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setDuration(dst *time.Duration, v *string, key string, p *problems) {
	if v == nil {
		return
	}
	if d, ok := p.duration(key, *v); ok {
		*dst = d
	}
}
