package config

import "github.com/ipfs-force-community/venus-cluster-go/api"

const managerAddrKey = "sector_manager.rpc_client.addr"

// ManagerAddr is the sector-manager address of the config, split into its parts.
type ManagerAddr = api.Addr

// ParseManagerAddr reads sector_manager.rpc_client.addr: a multiaddr (/ip4/127.0.0.1/tcp/1789) or
// an http(s) URL (http://127.0.0.1:1789; its path is dropped). Errors name the key.
func ParseManagerAddr(raw string) (ManagerAddr, error) {
	return api.ParseAddr(managerAddrKey, raw)
}

// ManagerEndpoint derives the Venus.* JSON-RPC endpoint from sector_manager.rpc_client.addr,
// e.g. "/ip4/127.0.0.1/tcp/1789" → "http://127.0.0.1:1789/rpc/v0".
func ManagerEndpoint(raw string) (string, error) {
	a, err := ParseManagerAddr(raw)
	if err != nil {
		return "", err
	}
	return a.URL(api.ManagerRPCPath), nil
}

// ManagerOrigin derives <scheme>://<host>[:<port>] from sector_manager.rpc_client.addr.
func ManagerOrigin(raw string) (string, error) {
	a, err := ParseManagerAddr(raw)
	if err != nil {
		return "", err
	}
	return a.Origin(), nil
}
