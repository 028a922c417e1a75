package config

import (
	"fmt"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Keys of token auth, named in errors.
const (
	TokenKey         = "sector_manager.rpc_client.token"
	AllowInsecureKey = "worker.rpc_server.allow_insecure"
)

// CheckAdminExposure is the rule for a worker without a token: its admin api (which pauses and
// resumes threads and sets the environment of the processes it spawns) is then open to anyone who
// can reach it, so it may listen only on a loopback address, unless rpc_server.allow_insecure
// says that an open api on the network is intended. A worker with a token checks every caller's
// token, wherever it listens.
func (c *Config) CheckAdminExposure() error {
	if c.SectorManager.Token != "" || c.Worker.RPCServerAllowInsecure {
		return nil
	}
	host := c.Worker.RPCServerHost
	if api.IsLoopbackHost(host) {
		return nil
	}
	written := fmt.Sprintf("worker.rpc_server.host = %q", host)
	if host == "" {
		written = "worker.rpc_server.host is not set, which listens on " + DefaultListenHost
	}
	return fmt.Errorf("the admin api would listen on %s (%s) without a token, so anyone who can reach it could pause "+
		"threads and change the environment of the processes the worker spawns: set %s (a token from "+
		"`venus-sector-manager auth create-token --perm write`), or set worker.rpc_server.host = \"127.0.0.1\", "+
		"or set %s = true if an open admin api is intended", c.AdminListenAddr(), written, TokenKey, AllowInsecureKey)
}
