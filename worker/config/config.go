// Package config reads venus-worker's TOML configuration (spec/worker.md §2) into plain, typed,
// validated structs. Keys and value formats are the original's; an error names the key at fault
// and what it wants. Unknown keys are ignored, as in the original, with one warning.
package config

import (
	"errors"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

var log = logging.Logger("config")

// Defaults of [worker].
const (
	DefaultAdminPort     = 17890
	DefaultListenHost    = "0.0.0.0"
	DefaultDialHost      = "127.0.0.1"
	DefaultPingInterval  = 30 * time.Second // damocles' value; the original's 180s made the registry slow to notice a worker
	DefaultCGroupName    = "vc-worker"
	DefaultExtStableWait = extproc.DefaultStableWait
)

// Config is a loaded and validated venus-worker configuration.
type Config struct {
	Worker        Worker
	SectorManager SectorManager
	// Sealing is [sealing] with defaults: what a thread without overrides gets. Its EnableDeals
	// decides whether the worker builds a piece store.
	Sealing        Sealing
	SealingThreads []Thread
	RemoteStore    *AttachedStore // deprecated [remote_store]; nil when absent
	Attached       []AttachedStore
	Processors     Processors
	// UnknownKeys are the keys this version does not read, e.g. "attached_selection".
	UnknownKeys []string
}

// Worker is [worker].
type Worker struct {
	Name          string // empty: the daemon uses the local IP that reaches the manager
	RPCServerHost string // as written; empty: listen on 0.0.0.0, dial 127.0.0.1
	RPCServerPort uint16 // 17890 unless written; 0 asks the daemon to pick a free port
	PingInterval  time.Duration
	// RPCServerAllowInsecure (rpc_server.allow_insecure, ours) lets a worker without a token serve
	// its admin api beyond the loopback interface (CheckAdminExposure).
	RPCServerAllowInsecure bool
}

// SectorManager is [sector_manager].
type SectorManager struct {
	RPCClientAddr    string            // as written
	RPCClientHeaders map[string]string // accepted and unused, as in the original
	PieceToken       string            // empty: no token
	Addr             ManagerAddr       // RPCClientAddr parsed
	// Token (rpc_client.token, ours) is sent as "Authorization: Bearer" on every call to the
	// manager and by `venus-worker worker` to the admin api, which then requires tokens too.
	Token string
}

// AttachedStore is a persist store: [remote_store] or one [[attached]].
type AttachedStore struct {
	Name     string // empty: the store layer uses the canonical path of Location
	Location string // as written
	ReadOnly bool
}

// Load reads and parses the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse parses and validates a config. All problems found are returned together, each naming
// its key.
func Parse(data []byte) (*Config, error) {
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, err // the toml error carries the line number and the key
	}

	var p problems
	cfg := &Config{
		Worker:        buildWorker(raw.Worker, &p),
		SectorManager: buildSectorManager(raw.SectorManager, &p),
		Sealing:       resolveSealing(raw.Sealing, "sealing", defaultSealing(), &p),
		Attached:      buildAttached(raw.Attached, &p),
		Processors:    buildProcessors(raw.Processors, md, &p),
		UnknownKeys:   unknownKeys(md),
	}
	cfg.SealingThreads = buildThreads(raw.SealingThread, cfg.Sealing, &p)
	if raw.RemoteStore != nil {
		s := buildStore(*raw.RemoteStore, "remote_store", &p)
		cfg.RemoteStore = &s
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if len(cfg.UnknownKeys) > 0 {
		log.Warnf("config keys ignored (unknown to this version): %s", strings.Join(cfg.UnknownKeys, ", "))
	}
	return cfg, nil
}

// Threads returns the sealing threads with their effective values, in file order.
func (c *Config) Threads() []Thread { return slices.Clone(c.SealingThreads) }

// AttachedStores returns the persist stores: [remote_store] first, then each [[attached]].
func (c *Config) AttachedStores() []AttachedStore {
	var out []AttachedStore
	if c.RemoteStore != nil {
		out = append(out, *c.RemoteStore)
	}
	return append(out, c.Attached...)
}

// AdminListenAddr is the host:port the admin API binds: rpc_server.host or 0.0.0.0.
func (c *Config) AdminListenAddr() string { return c.adminAddr(DefaultListenHost) }

// AdminDialAddr is the host:port `venus-worker worker` dials: rpc_server.host or 127.0.0.1.
// Like the original, a host of 0.0.0.0 is dialled as written.
func (c *Config) AdminDialAddr() string { return c.adminAddr(DefaultDialHost) }

func (c *Config) adminAddr(defaultHost string) string {
	host := c.Worker.RPCServerHost
	if host == "" {
		host = defaultHost
	}
	return net.JoinHostPort(host, strconv.Itoa(int(c.Worker.RPCServerPort)))
}

func buildWorker(raw rawWorker, p *problems) Worker {
	w := Worker{
		Name:          deref(raw.Name),
		RPCServerHost: deref(raw.RPCServer.Host),
		RPCServerPort: DefaultAdminPort,
		PingInterval:  DefaultPingInterval,
	}
	w.RPCServerAllowInsecure = raw.RPCServer.AllowInsecure
	if raw.RPCServer.Port != nil {
		port := *raw.RPCServer.Port
		if port < 0 || port > 65535 {
			p.addf("worker.rpc_server.port: invalid port %d: want 0..65535", port)
		} else {
			w.RPCServerPort = uint16(port)
		}
	}
	if raw.PingInterval != nil {
		d, ok := p.duration("worker.ping_interval", *raw.PingInterval)
		switch {
		case !ok:
		case d <= 0:
			p.addf("worker.ping_interval: must be longer than 0, e.g. \"30s\"")
		default:
			w.PingInterval = d
		}
	}
	return w
}

func buildSectorManager(raw rawSectorManager, p *problems) SectorManager {
	sm := SectorManager{
		RPCClientAddr:    deref(raw.RPCClient.Addr),
		RPCClientHeaders: raw.RPCClient.Headers,
		PieceToken:       deref(raw.PieceToken),
		Token:            strings.TrimSpace(deref(raw.RPCClient.Token)),
	}
	addr, err := ParseManagerAddr(sm.RPCClientAddr)
	if err != nil {
		p.add(err)
	}
	if sm.Token != "" && strings.Count(sm.Token, ".") != 2 {
		p.addf("%s: not a token: want what `venus-sector-manager auth create-token --perm write` prints (three base64 parts joined by dots)", TokenKey)
	}
	sm.Addr = addr
	return sm
}

func buildAttached(raws []rawAttached, p *problems) []AttachedStore {
	var out []AttachedStore
	for i, r := range raws {
		out = append(out, buildStore(r, fmt.Sprintf("attached[%d]", i), p))
	}
	return out
}

func buildStore(raw rawAttached, key string, p *problems) AttachedStore {
	s := AttachedStore{Name: deref(raw.Name), Location: deref(raw.Location), ReadOnly: raw.ReadOnly}
	if s.Location == "" {
		p.addf("%s.location is required: want the directory of the persist store", key)
	}
	return s
}

// unknownKeys lists the keys nothing decoded, leaving out a table when one of its keys is listed.
func unknownKeys(md toml.MetaData) []string {
	var all []string
	for _, k := range md.Undecoded() {
		all = append(all, k.String())
	}
	var out []string
	for _, k := range all {
		isParent := slices.ContainsFunc(all, func(o string) bool { return strings.HasPrefix(o, k+".") })
		if !isParent {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// problems collects validation errors so a user sees them all in one run.
type problems []error

func (p *problems) add(err error)                   { *p = append(*p, err) }
func (p *problems) addf(format string, args ...any) { p.add(fmt.Errorf(format, args...)) }
func (p problems) err() error                       { return errors.Join(p...) }

// duration parses the humantime value of key; ok is false (and a problem recorded) when bad.
func (p *problems) duration(key, value string) (d time.Duration, ok bool) {
	d, err := ParseDuration(value)
	if err != nil {
		p.addf("%s: invalid duration %q: %v", key, value, err)
		return 0, false
	}
	return d, true
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}
