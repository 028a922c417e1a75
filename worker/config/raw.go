package config

// The raw* types mirror the TOML file. Optional keys are pointers so that "absent" differs from
// a zero value (a thread's sealing.* key overrides [sealing] only when written). Integers are
// read as int64 and checked by hand: the decoder wraps negative numbers into unsigned fields.

type rawConfig struct {
	Worker        rawWorker          `toml:"worker"`
	SectorManager rawSectorManager   `toml:"sector_manager"`
	Sealing       rawSealing         `toml:"sealing"`
	SealingThread []rawSealingThread `toml:"sealing_thread"`
	RemoteStore   *rawAttached       `toml:"remote_store"`
	Attached      []rawAttached      `toml:"attached"`
	Processors    rawProcessors      `toml:"processors"`
}

type rawWorker struct {
	Name      *string `toml:"name"`
	RPCServer struct {
		Host          *string `toml:"host"`
		Port          *int64  `toml:"port"`
		AllowInsecure bool    `toml:"allow_insecure"`
	} `toml:"rpc_server"`
	PingInterval *string `toml:"ping_interval"`
}

type rawSectorManager struct {
	RPCClient struct {
		Addr    *string           `toml:"addr"`
		Headers map[string]string `toml:"headers"`
		Token   *string           `toml:"token"`
	} `toml:"rpc_client"`
	PieceToken *string `toml:"piece_token"`
}

type rawSealing struct {
	AllowedMiners      *[]int64  `toml:"allowed_miners"`
	AllowedSizes       *[]string `toml:"allowed_sizes"`
	EnableDeals        *bool     `toml:"enable_deals"`
	DisableCC          *bool     `toml:"disable_cc"`
	MaxDeals           *int64    `toml:"max_deals"`
	MinDealSpace       any       `toml:"min_deal_space"` // "1KiB" or a byte count
	MaxRetries         *int64    `toml:"max_retries"`
	SealInterval       *string   `toml:"seal_interval"`
	RecoverInterval    *string   `toml:"recover_interval"`
	RPCPollingInterval *string   `toml:"rpc_polling_interval"`
	IgnoreProofCheck   *bool     `toml:"ignore_proof_check"`
	// Ours: how long a persist step waits for a store with room.
	ReserveSpaceTimeout *string `toml:"reserve_space_timeout"`
}

type rawSealingThread struct {
	Location *string    `toml:"location"`
	Plan     *string    `toml:"plan"`
	Sealing  rawSealing `toml:"sealing"`
}

type rawAttached struct {
	Name     *string `toml:"name"`
	Location *string `toml:"location"`
	ReadOnly bool    `toml:"readonly"`
}

type rawProcessors struct {
	Limit      map[string]int64 `toml:"limit"`
	Limitation struct {
		Concurrent map[string]int64  `toml:"concurrent"`
		Staggered  map[string]string `toml:"staggered"`
	} `toml:"limitation"`
	ExtLocks    map[string]int64  `toml:"ext_locks"`
	StaticTreeD map[string]string `toml:"static_tree_d"`

	TreeD      *[]rawExt `toml:"tree_d"`
	PC1        *[]rawExt `toml:"pc1"`
	PC2        *[]rawExt `toml:"pc2"`
	C2         *[]rawExt `toml:"c2"`
	SnapEncode *[]rawExt `toml:"snap_encode"`
	SnapProve  *[]rawExt `toml:"snap_prove"`
	Transfer   *[]rawExt `toml:"transfer"`
}

// extStages lists the [[processors.<stage>]] tables in the order they are checked.
func (p *rawProcessors) extStages() []struct {
	name string
	subs *[]rawExt
} {
	return []struct {
		name string
		subs *[]rawExt
	}{
		{"tree_d", p.TreeD}, {"pc1", p.PC1}, {"pc2", p.PC2}, {"c2", p.C2},
		{"snap_encode", p.SnapEncode}, {"snap_prove", p.SnapProve}, {"transfer", p.Transfer},
	}
}

type rawExt struct {
	Bin        *string   `toml:"bin"`
	Args       *[]string `toml:"args"`
	StableWait *string   `toml:"stable_wait"`
	CGroup     struct {
		GroupName *string `toml:"group_name"`
		CPUSet    *string `toml:"cpuset"`
	} `toml:"cgroup"`
	Envs          map[string]string `toml:"envs"`
	NUMAPreferred *int64            `toml:"numa_preferred"`
	Concurrent    *int64            `toml:"concurrent"`
	Locks         []string          `toml:"locks"`
	Weight        *int64            `toml:"weight"`
}
