package config

import (
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// LimitedStages are the stages a sealing thread takes limitation tokens for; other keys of
// [processors.limitation.*] are ignored with a warning.
var LimitedStages = []string{"tree_d", "pc1", "pc2", "c1", "c2", "snap_encode", "snap_prove"}

// minStaggered is the shortest stagger the original honours; shorter ones are ignored.
const minStaggered = time.Second

// Processors is [processors].
type Processors struct {
	Limitation Limitation
	ExtLocks   map[string]uint // lock name → how many holders at once
	// StaticTreeD maps a sector size to a prebuilt tree_d file, path as written (the daemon
	// canonicalises it and fails when it does not exist).
	StaticTreeD map[abi.SectorSize]string
	// Ext lists the external processors of each stage written as [[processors.<stage>]]; a
	// stage absent from the map runs built in.
	Ext map[string][]ExtProcessor
}

// Limitation is the stage limitation pool: only LimitedStages appear as keys.
type Limitation struct {
	// Concurrent is limitation.concurrent, or the deprecated limit when that is absent (the two
	// are never merged).
	Concurrent map[string]uint
	// Staggered is limitation.staggered, keeping only values of 1s or more.
	Staggered map[string]time.Duration
}

// ExtProcessor is one [[processors.<stage>]] child process.
type ExtProcessor = extproc.Spec

// CGroup is the cgroup an external processor runs in ("vc-worker" unless written).
type CGroup = extproc.CGroup

func buildProcessors(raw rawProcessors, md toml.MetaData, p *problems) Processors {
	out := Processors{
		Limitation: Limitation{
			Concurrent: buildConcurrent(raw, md, p),
			Staggered:  buildStaggered(raw.Limitation.Staggered, p),
		},
		ExtLocks:    buildCounts(raw.ExtLocks, "processors.ext_locks", "lock count", p),
		StaticTreeD: buildStaticTreeD(raw.StaticTreeD, p),
		Ext:         map[string][]ExtProcessor{},
	}
	for _, st := range raw.extStages() {
		if st.subs == nil {
			continue
		}
		key := "processors." + st.name
		if len(*st.subs) == 0 {
			p.addf("%s: no subs section found: add at least one [[%s]] table, or remove the key to use the built-in processor", key, key)
			continue
		}
		for i, sub := range *st.subs {
			out.Ext[st.name] = append(out.Ext[st.name], buildExt(st.name, sub, fmt.Sprintf("%s[%d]", key, i), out.ExtLocks, p))
		}
	}
	return out
}

// buildConcurrent takes limitation.concurrent when written (even empty), else the deprecated limit.
func buildConcurrent(raw rawProcessors, md toml.MetaData, p *problems) map[string]uint {
	if md.IsDefined("processors", "limitation", "concurrent") {
		return onlyLimitedStages(buildCounts(raw.Limitation.Concurrent, "processors.limitation.concurrent", "concurrent limit", p), "processors.limitation.concurrent")
	}
	if len(raw.Limit) > 0 {
		log.Warn("processors.limit is deprecated: use [processors.limitation.concurrent]")
	}
	return onlyLimitedStages(buildCounts(raw.Limit, "processors.limit", "concurrent limit", p), "processors.limit")
}

// buildCounts checks a name → count table; a count of 0 would block forever, so it is refused.
func buildCounts(raw map[string]int64, key, what string, p *problems) map[string]uint {
	out := map[string]uint{}
	for _, name := range sortedKeys(raw) {
		n := raw[name]
		if n < 1 {
			p.addf("%s.%s: invalid %s %d: want 1 or more", key, name, what, n)
			continue
		}
		out[name] = uint(n)
	}
	return out
}

func buildStaggered(raw map[string]string, p *problems) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, stage := range sortedKeys(raw) {
		key := "processors.limitation.staggered." + stage
		d, ok := p.duration(key, raw[stage])
		if !ok {
			continue
		}
		if d < minStaggered {
			log.Warnf("%s: %s is shorter than %s, ignored", key, d, minStaggered)
			continue
		}
		out[stage] = d
	}
	return onlyLimitedStages(out, "processors.limitation.staggered")
}

func onlyLimitedStages[V any](m map[string]V, key string) map[string]V {
	for _, stage := range sortedKeys(m) {
		if !slices.Contains(LimitedStages, stage) {
			log.Warnf("%s.%s: not a limited stage, ignored (limited stages: %v)", key, stage, LimitedStages)
			delete(m, stage)
		}
	}
	return m
}

func buildStaticTreeD(raw map[string]string, p *problems) map[abi.SectorSize]string {
	out := map[abi.SectorSize]string{}
	seen := map[abi.SectorSize]string{}
	for _, k := range sortedKeys(raw) {
		size, _, err := api.ParseSectorSize(k)
		if err != nil {
			p.addf("processors.static_tree_d: key %q is not a sector size: want %s", k, sectorSizesWanted)
			continue
		}
		if other, dup := seen[size]; dup {
			p.addf("processors.static_tree_d: keys %q and %q name the same sector size: keep one", other, k)
			continue
		}
		seen[size] = k
		if raw[k] == "" {
			p.addf("processors.static_tree_d.%s: path is empty: want the sc-02-data-tree-d.dat file made by `venus-worker generator tree-d`", k)
			continue
		}
		out[size] = raw[k]
	}
	return out
}

func buildExt(stage string, raw rawExt, key string, locks map[string]uint, p *problems) ExtProcessor {
	e := ExtProcessor{
		Stage:      stage,
		Bin:        deref(raw.Bin),
		Args:       []string{"processor", stage},
		StableWait: DefaultExtStableWait,
		CGroup:     CGroup{GroupName: DefaultCGroupName, CPUSet: deref(raw.CGroup.CPUSet)},
		Envs:       raw.Envs,
		Locks:      raw.Locks,
		Weight:     1,
	}
	if raw.Args != nil {
		e.Args = *raw.Args
	}
	if raw.CGroup.GroupName != nil {
		e.CGroup.GroupName = *raw.CGroup.GroupName
		if e.CGroup.GroupName == "" {
			p.addf("%s.cgroup.group_name: empty: want a cgroup name such as %q", key, DefaultCGroupName)
		}
	}
	setDuration(&e.StableWait, raw.StableWait, key+".stable_wait", p)
	if raw.NUMAPreferred != nil {
		if n := *raw.NUMAPreferred; n < 0 || n > math.MaxInt32 {
			p.addf("%s.numa_preferred: invalid NUMA node %d: want 0 or more", key, n)
		} else {
			node := int(n)
			e.NUMAPreferred = &node
		}
	}
	if raw.Concurrent != nil {
		if n := *raw.Concurrent; n < 1 {
			p.addf("%s.concurrent: invalid concurrent limit %d: want 1 or more, or leave it out for no limit", key, n)
		} else {
			c := uint(n)
			e.Concurrent = &c
		}
	}
	if raw.Weight != nil {
		if n := *raw.Weight; n < 1 || n > math.MaxUint16 {
			p.addf("%s.weight: invalid weight %d: want 1..%d", key, n, math.MaxUint16)
		} else {
			e.Weight = uint16(n)
		}
	}
	for i, name := range e.Locks {
		if _, ok := locks[name]; !ok {
			// The original treats an undefined lock as no lock at all; keep that, but say so.
			log.Warnf("%s.locks[%d]: lock %q is not defined in [processors.ext_locks], so it limits nothing", key, i, name)
		}
	}
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
