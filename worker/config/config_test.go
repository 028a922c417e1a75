package config

import (
	"github.com/ipfs-force-community/venus-cluster-go/api"

	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
)

const managerSection = `
[sector_manager]
rpc_client.addr = "/ip4/127.0.0.1/tcp/1789"
`

// minimal is the smallest valid config: a manager and one thread.
const minimal = managerSection + `
[[sealing_thread]]
location = "/data/store1"
`

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v\n--- config ---\n%s", err, text)
	}
	return cfg
}

func ptr[T any](v T) *T { return &v }

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, minimal)

	wantWorker := Worker{RPCServerPort: 17890, PingInterval: 30 * time.Second}
	if cfg.Worker != wantWorker {
		t.Errorf("Worker = %+v, want %+v", cfg.Worker, wantWorker)
	}
	if got := cfg.AdminListenAddr(); got != "0.0.0.0:17890" {
		t.Errorf("AdminListenAddr = %q, want 0.0.0.0:17890", got)
	}
	if got := cfg.AdminDialAddr(); got != "127.0.0.1:17890" {
		t.Errorf("AdminDialAddr = %q, want 127.0.0.1:17890", got)
	}
	if got := cfg.SectorManager.Addr.URL(api.ManagerRPCPath); got != "http://127.0.0.1:1789/rpc/v0" {
		t.Errorf("manager endpoint = %q", got)
	}
	if cfg.SectorManager.PieceToken != "" || cfg.SectorManager.RPCClientHeaders != nil {
		t.Errorf("SectorManager = %+v, want no token and no headers", cfg.SectorManager)
	}

	wantSealing := Sealing{
		MaxRetries:          5,
		SealInterval:        30 * time.Second,
		RecoverInterval:     60 * time.Second,
		RPCPollingInterval:  180 * time.Second,
		ReserveSpaceTimeout: time.Hour,
	}
	if !reflect.DeepEqual(cfg.Sealing, wantSealing) {
		t.Errorf("global Sealing = %+v, want %+v", cfg.Sealing, wantSealing)
	}
	wantThreads := []Thread{{Index: 0, Location: "/data/store1", Plan: "sealer", Sealing: wantSealing}}
	if got := cfg.Threads(); !reflect.DeepEqual(got, wantThreads) {
		t.Errorf("Threads = %+v, want %+v", got, wantThreads)
	}

	if len(cfg.AttachedStores()) != 0 {
		t.Errorf("AttachedStores = %+v, want none", cfg.AttachedStores())
	}
	wantProcessors := Processors{
		Limitation:  Limitation{Concurrent: map[string]uint{}, Staggered: map[string]time.Duration{}},
		ExtLocks:    map[string]uint{},
		StaticTreeD: map[abi.SectorSize]string{},
		Ext:         map[string][]ExtProcessor{},
	}
	if !reflect.DeepEqual(cfg.Processors, wantProcessors) {
		t.Errorf("Processors = %+v, want %+v", cfg.Processors, wantProcessors)
	}
	if cfg.UnknownKeys != nil {
		t.Errorf("UnknownKeys = %v, want none", cfg.UnknownKeys)
	}
}

func TestWorkerAndManagerKeys(t *testing.T) {
	cfg := mustParse(t, `
[worker]
name = "worker-#1"
rpc_server.host = "192.168.1.100"
rpc_server.port = 17891
ping_interval = "1min"

[sector_manager]
rpc_client.addr = "http://10.0.0.1:1789/whatever"
rpc_client.headers = { User-Agent = "jsonrpc-core-client" }
piece_token = "secret-jwt"

[[sealing_thread]]
location = "./store1"
`)
	want := Worker{Name: "worker-#1", RPCServerHost: "192.168.1.100", RPCServerPort: 17891, PingInterval: time.Minute}
	if cfg.Worker != want {
		t.Errorf("Worker = %+v, want %+v", cfg.Worker, want)
	}
	if got := cfg.AdminListenAddr(); got != "192.168.1.100:17891" {
		t.Errorf("AdminListenAddr = %q", got)
	}
	if got := cfg.AdminDialAddr(); got != "192.168.1.100:17891" {
		t.Errorf("AdminDialAddr = %q", got)
	}
	sm := cfg.SectorManager
	if sm.RPCClientAddr != "http://10.0.0.1:1789/whatever" || sm.PieceToken != "secret-jwt" ||
		sm.RPCClientHeaders["User-Agent"] != "jsonrpc-core-client" {
		t.Errorf("SectorManager = %+v", sm)
	}
	if got := sm.Addr.URL(api.ManagerRPCPath); got != "http://10.0.0.1:1789/rpc/v0" {
		t.Errorf("endpoint = %q", got)
	}
	if got := cfg.Threads()[0].Location; got != "./store1" {
		t.Errorf("Location = %q, want it as written", got)
	}
}

func TestAdminAddrIPv6AndPortZero(t *testing.T) {
	cfg := mustParse(t, "[worker]\nrpc_server.host = \"::1\"\nrpc_server.port = 0\n"+minimal)
	if got := cfg.AdminListenAddr(); got != "[::1]:0" {
		t.Errorf("AdminListenAddr = %q, want [::1]:0", got)
	}
}

func TestSealingOverrideKeyByKey(t *testing.T) {
	cfg := mustParse(t, managerSection+`
[sealing]
allowed_miners = [10000, 10001]
allowed_sizes = ["2KiB", "32GiB"]
enable_deals = true
max_deals = 4
min_deal_space = "1KiB"
max_retries = 3
seal_interval = "10s"
ignore_proof_check = true

[[sealing_thread]]
location = "/s0"
plan = "snapup"
sealing.allowed_miners = [20000]
sealing.allowed_sizes = ["64GiB"]
sealing.enable_deals = false
sealing.disable_cc = true
sealing.max_deals = 1
sealing.min_deal_space = 2048
sealing.max_retries = 0
sealing.recover_interval = "1h 30m"
sealing.rpc_polling_interval = "15s"
sealing.reserve_space_timeout = "10m"
sealing.ignore_proof_check = false

[[sealing_thread]]
location = "/s1"
sealing.seal_interval = "2min"

[[sealing_thread]]
location = "/s2"
plan = "sealer"
sealing.allowed_miners = []
`)
	global := Sealing{
		AllowedMiners:       []abi.ActorID{10000, 10001},
		AllowedProofTypes:   []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1_1, abi.RegisteredSealProof_StackedDrg32GiBV1_1},
		EnableDeals:         true,
		MaxDeals:            ptr[uint](4),
		MinDealSpace:        ptr[uint64](1024),
		MaxRetries:          3,
		SealInterval:        10 * time.Second,
		RecoverInterval:     60 * time.Second,
		RPCPollingInterval:  180 * time.Second,
		ReserveSpaceTimeout: time.Hour,
		IgnoreProofCheck:    true,
	}
	if !reflect.DeepEqual(cfg.Sealing, global) {
		t.Errorf("global Sealing = %+v, want %+v", cfg.Sealing, global)
	}

	t0 := Sealing{
		AllowedMiners:       []abi.ActorID{20000},
		AllowedProofTypes:   []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg64GiBV1_1},
		DisableCC:           true,
		MaxDeals:            ptr[uint](1),
		MinDealSpace:        ptr[uint64](2048),
		MaxRetries:          0,
		SealInterval:        10 * time.Second, // from [sealing]
		RecoverInterval:     90 * time.Minute,
		RPCPollingInterval:  15 * time.Second,
		ReserveSpaceTimeout: 10 * time.Minute,
	}
	t1 := global
	t1.SealInterval = 2 * time.Minute
	t2 := global
	t2.AllowedMiners = nil // an empty list means any miner

	want := []Thread{
		{Index: 0, Location: "/s0", Plan: "snapup", Sealing: t0},
		{Index: 1, Location: "/s1", Plan: "sealer", Sealing: t1},
		{Index: 2, Location: "/s2", Plan: "sealer", Sealing: t2},
	}
	got := cfg.Threads()
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("thread %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// Threads share no slices: a caller editing one thread's list leaves the others alone.
	got[1].Sealing.AllowedMiners[0] = 1
	got[1].Sealing.AllowedProofTypes[0] = 0
	if cfg.Sealing.AllowedMiners[0] != 10000 || cfg.SealingThreads[2].Sealing.AllowedProofTypes[0] != abi.RegisteredSealProof_StackedDrg2KiBV1_1 {
		t.Errorf("thread slices alias the global ones")
	}
}

func TestStoresRemoteFirst(t *testing.T) {
	cfg := mustParse(t, minimal+`
[[attached]]
location = "/persist/a"

[[attached]]
name = "b"
location = "/persist/b"
readonly = true

[remote_store]
name = "old"
location = "/persist/old"
`)
	want := []AttachedStore{
		{Name: "old", Location: "/persist/old"},
		{Location: "/persist/a"},
		{Name: "b", Location: "/persist/b", ReadOnly: true},
	}
	if got := cfg.AttachedStores(); !reflect.DeepEqual(got, want) {
		t.Errorf("AttachedStores = %+v, want %+v", got, want)
	}
}

func TestProcessorsAllKeys(t *testing.T) {
	cfg := mustParse(t, minimal+`
[processors.limitation.concurrent]
pc1 = 3
c2 = 1

[processors.limitation.staggered]
pc1 = "1min"
pc2 = "500ms"    # shorter than 1s: ignored
transfer = "10s" # not a limited stage: ignored

[processors.ext_locks]
gpu1 = 1

[processors.static_tree_d]
2KiB = "./tmp/2k/sc-02-data-tree-d.dat"
32GiB = "/var/tmp/32g/sc-02-data-tree-d.dat"

[[processors.tree_d]]

[[processors.pc1]]
bin = "./dist/bin/venus-worker-plugin-pc1"
args = ["--args-1", "1"]
stable_wait = "20s"
numa_preferred = 1
cgroup.group_name = "mine"
cgroup.cpuset = "0-11"
envs = { FIL_PROOFS_USE_MULTICORE_SDR = "1" }
concurrent = 2
locks = ["gpu1"]
weight = 3

[[processors.pc1]]
cgroup.cpuset = "12-23"
`)
	pr := cfg.Processors
	if want := map[string]uint{"pc1": 3, "c2": 1}; !reflect.DeepEqual(pr.Limitation.Concurrent, want) {
		t.Errorf("Concurrent = %v, want %v", pr.Limitation.Concurrent, want)
	}
	if want := map[string]time.Duration{"pc1": time.Minute}; !reflect.DeepEqual(pr.Limitation.Staggered, want) {
		t.Errorf("Staggered = %v, want %v", pr.Limitation.Staggered, want)
	}
	if want := map[string]uint{"gpu1": 1}; !reflect.DeepEqual(pr.ExtLocks, want) {
		t.Errorf("ExtLocks = %v, want %v", pr.ExtLocks, want)
	}
	wantTreeD := map[abi.SectorSize]string{2048: "./tmp/2k/sc-02-data-tree-d.dat", 32 << 30: "/var/tmp/32g/sc-02-data-tree-d.dat"}
	if !reflect.DeepEqual(pr.StaticTreeD, wantTreeD) {
		t.Errorf("StaticTreeD = %v, want %v", pr.StaticTreeD, wantTreeD)
	}
	wantExt := map[string][]ExtProcessor{
		"tree_d": {{
			Stage: "tree_d", Args: []string{"processor", "tree_d"}, StableWait: 5 * time.Second,
			CGroup: CGroup{GroupName: "vc-worker"}, Weight: 1,
		}},
		"pc1": {{
			Stage: "pc1", Bin: "./dist/bin/venus-worker-plugin-pc1", Args: []string{"--args-1", "1"},
			StableWait: 20 * time.Second, CGroup: CGroup{GroupName: "mine", CPUSet: "0-11"},
			Envs: map[string]string{"FIL_PROOFS_USE_MULTICORE_SDR": "1"}, NUMAPreferred: ptr(1),
			Concurrent: ptr[uint](2), Locks: []string{"gpu1"}, Weight: 3,
		}, {
			Stage: "pc1", Args: []string{"processor", "pc1"}, StableWait: 5 * time.Second,
			CGroup: CGroup{GroupName: "vc-worker", CPUSet: "12-23"}, Weight: 1,
		}},
	}
	if !reflect.DeepEqual(pr.Ext, wantExt) {
		t.Errorf("Ext = %+v\nwant %+v", pr.Ext, wantExt)
	}
}

func TestLimitationConcurrentReplacesDeprecatedLimit(t *testing.T) {
	cases := []struct {
		name, text string
		want       map[string]uint
	}{
		{"limit alone", `
[processors.limit]
pc1 = 1
pc2 = 5
`, map[string]uint{"pc1": 1, "pc2": 5}},
		{"both: concurrent wins, no merging", `
[processors.limit]
pc1 = 1
pc2 = 5
[processors.limitation.concurrent]
pc1 = 3
`, map[string]uint{"pc1": 3}},
		{"empty concurrent still replaces limit", `
[processors.limit]
pc1 = 1
[processors.limitation.concurrent]
`, map[string]uint{}},
	}
	for _, c := range cases {
		cfg := mustParse(t, minimal+c.text)
		if got := cfg.Processors.Limitation.Concurrent; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Concurrent = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestUnknownKeysIgnored(t *testing.T) {
	cfg := mustParse(t, "surprise = 1\n"+minimal+`
[worker]
nickname = "x"

[attached_selection]
enable_space_weighted = true

[[attached]]
location = "/persist"
colour = "red"
`)
	want := []string{"attached.colour", "attached_selection.enable_space_weighted", "surprise", "worker.nickname"}
	if !reflect.DeepEqual(cfg.UnknownKeys, want) {
		t.Errorf("UnknownKeys = %v, want %v", cfg.UnknownKeys, want)
	}
	if cfg.Attached[0].Location != "/persist" {
		t.Errorf("known keys next to unknown ones were not read: %+v", cfg.Attached)
	}
}

func TestAbsentSectionsAreEmpty(t *testing.T) {
	// No [worker], [sealing] or [processors] at all: the original required the last two.
	cfg := mustParse(t, minimal)
	if len(cfg.Processors.Ext) != 0 || cfg.Sealing.MaxRetries != 5 {
		t.Errorf("absent sections did not give defaults: %+v", cfg)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // every string must appear in the error
	}{
		{"missing manager addr", "[[sealing_thread]]\nlocation = \"/s\"\n",
			[]string{"sector_manager.rpc_client.addr is required"}},
		{"bad manager addr", "[sector_manager]\nrpc_client.addr = \"/tcp/1789\"\n[[sealing_thread]]\nlocation = \"/s\"\n",
			[]string{"sector_manager.rpc_client.addr", "ip4 or ip6 protocol is required"}},
		{"no threads", managerSection,
			[]string{"sealing_thread", "at least one"}},
		{"thread without location", managerSection + "[[sealing_thread]]\nlocation = \"/a\"\n[[sealing_thread]]\nplan = \"sealer\"\n",
			[]string{"sealing_thread[1].location is required"}},
		{"bad plan", managerSection + "[[sealing_thread]]\nlocation = \"/a\"\n[[sealing_thread]]\nlocation = \"/b\"\nplan = \"snap\"\n",
			[]string{`sealing_thread[1].plan: unknown plan "snap"`, `"sealer"`, `"snapup"`}},
		{"bad thread duration", managerSection + "[[sealing_thread]]\nlocation = \"/a\"\n[[sealing_thread]]\nlocation = \"/b\"\nsealing.seal_interval = \"3x\"\n",
			[]string{`sealing_thread[1].sealing.seal_interval: invalid duration "3x"`}},
		{"bad global duration", minimal + "[sealing]\nrpc_polling_interval = \"soon\"\n",
			[]string{`sealing.rpc_polling_interval: invalid duration "soon"`}},
		{"bad reserve_space_timeout", minimal + "[sealing]\nreserve_space_timeout = \"forever\"\n",
			[]string{`sealing.reserve_space_timeout: invalid duration "forever"`}},
		{"bad allowed size", minimal + "[sealing]\nallowed_sizes = [\"3KiB\"]\n",
			[]string{`sealing.allowed_sizes[0]: invalid sector size "3KiB"`, "2KiB"}},
		{"bad thread allowed size", managerSection + "[[sealing_thread]]\nlocation = \"/a\"\nsealing.allowed_sizes = [\"2KiB\", \"lots\"]\n",
			[]string{`sealing_thread[0].sealing.allowed_sizes[1]: invalid sector size "lots"`}},
		{"negative miner", minimal + "[sealing]\nallowed_miners = [-1]\n",
			[]string{"sealing.allowed_miners[0]: invalid miner actor id -1"}},
		{"negative retries", minimal + "[sealing]\nmax_retries = -1\n",
			[]string{"sealing.max_retries: invalid value -1"}},
		{"negative max deals", minimal + "[sealing]\nmax_deals = -2\n",
			[]string{"sealing.max_deals: invalid value -2"}},
		{"bad min deal space", minimal + "[sealing]\nmin_deal_space = \"1QiB\"\n",
			[]string{"sealing.min_deal_space", `"1QiB"`}},
		{"wrong type", minimal + "[sealing]\nmax_retries = \"3\"\n",
			[]string{"sealing.max_retries", "line"}},
		{"bad ping interval", "[worker]\nping_interval = \"often\"\n" + minimal,
			[]string{`worker.ping_interval: invalid duration "often"`}},
		{"zero ping interval", "[worker]\nping_interval = \"0s\"\n" + minimal,
			[]string{"worker.ping_interval: must be longer than 0"}},
		{"bad port", "[worker]\nrpc_server.port = 70000\n" + minimal,
			[]string{"worker.rpc_server.port: invalid port 70000"}},
		{"attached without location", minimal + "[[attached]]\nname = \"x\"\n",
			[]string{"attached[0].location is required"}},
		{"remote store without location", minimal + "[remote_store]\nname = \"x\"\n",
			[]string{"remote_store.location is required"}},
		{"ext concurrent 0", minimal + "[[processors.pc1]]\nconcurrent = 0\n",
			[]string{"processors.pc1[0].concurrent: invalid concurrent limit 0"}},
		{"ext concurrent in second table", minimal + "[[processors.c2]]\n[[processors.c2]]\nconcurrent = -1\n",
			[]string{"processors.c2[1].concurrent: invalid concurrent limit -1"}},
		{"empty ext array", minimal + "[processors]\npc1 = []\n",
			[]string{"processors.pc1: no subs section found"}},
		{"bad stable wait", minimal + "[[processors.tree_d]]\nstable_wait = \"5\"\n",
			[]string{`processors.tree_d[0].stable_wait: invalid duration "5"`}},
		{"bad weight", minimal + "[[processors.pc2]]\nweight = 0\n",
			[]string{"processors.pc2[0].weight: invalid weight 0"}},
		{"bad numa", minimal + "[[processors.snap_encode]]\nnuma_preferred = -1\n",
			[]string{"processors.snap_encode[0].numa_preferred: invalid NUMA node -1"}},
		{"empty cgroup name", minimal + "[[processors.transfer]]\ncgroup.group_name = \"\"\n",
			[]string{"processors.transfer[0].cgroup.group_name"}},
		{"bad static tree_d key", minimal + "[processors.static_tree_d]\n3KiB = \"/x\"\n",
			[]string{`processors.static_tree_d: key "3KiB" is not a sector size`}},
		{"duplicate static tree_d size", minimal + "[processors.static_tree_d]\n2KiB = \"/x\"\n2048 = \"/y\"\n",
			[]string{"processors.static_tree_d", "same sector size"}},
		{"empty static tree_d path", minimal + "[processors.static_tree_d]\n2KiB = \"\"\n",
			[]string{"processors.static_tree_d.2KiB: path is empty"}},
		{"zero limitation", minimal + "[processors.limitation.concurrent]\npc1 = 0\n",
			[]string{"processors.limitation.concurrent.pc1: invalid concurrent limit 0"}},
		{"zero deprecated limit", minimal + "[processors.limit]\npc2 = 0\n",
			[]string{"processors.limit.pc2: invalid concurrent limit 0"}},
		{"bad staggered", minimal + "[processors.limitation.staggered]\npc1 = \"1 fortnight\"\n",
			[]string{`processors.limitation.staggered.pc1: invalid duration "1 fortnight"`}},
		{"zero ext lock", minimal + "[processors.ext_locks]\ngpu = 0\n",
			[]string{"processors.ext_locks.gpu: invalid lock count 0"}},
		{"syntax error", minimal + "[sealing]\nmax_retries = 3 4\n",
			[]string{"line 8"}},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.text))
		if err == nil {
			t.Errorf("%s: Parse succeeded, want an error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	_, err := Parse([]byte(`
[sealing]
seal_interval = "3x"
[[sealing_thread]]
plan = "nope"
`))
	if err == nil {
		t.Fatal("Parse succeeded, want an error")
	}
	for _, w := range []string{"sector_manager.rpc_client.addr", "sealing.seal_interval", "sealing_thread[0].location", "sealing_thread[0].plan"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker.toml")
	if err := os.WriteFile(path, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Threads()) != 1 {
		t.Errorf("Threads = %v, want 1", cfg.Threads())
	}

	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load of a missing file: error %v, want one naming the file", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte(managerSection), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.toml") || !strings.Contains(err.Error(), "sealing_thread") {
		t.Errorf("Load of an invalid file: error %v, want one naming the file and the key", err)
	}
}
