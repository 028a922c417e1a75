package daemon

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/metrics"
	"github.com/ipfs-force-community/venus-cluster-go/worker/admin"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
)

const createTokenHint = "create one with `venus-sector-manager --home <manager home> auth create-token --perm write`"

// checkToken is the start-up check of token auth. A worker with a token has the manager verify
// it: a token the manager refuses, one without write (the sealing calls need it), or a manager
// that cannot verify tokens stops start-up, since the admin api could not check its callers. It
// returns the admin api's verifier, nil for a worker without a token, which checks only that the
// manager does not require one.
func checkToken(ctx context.Context, rpc *api.ManagerClient, cfg *config.Config) (*admin.Verifier, error) {
	endpoint := cfg.SectorManager.Addr.URL(api.ManagerRPCPath)
	token := cfg.SectorManager.Token
	if token == "" {
		// The original manager has no Version: only a refusal for want of a token counts here.
		if _, err := rpc.Version(ctx); api.IsPermissionDenied(err) {
			return nil, fmt.Errorf("the sector manager at %s requires a token: set %s (%s), "+
				"or start the manager with --allow-workers-without-token: %v", endpoint, config.TokenKey, createTokenHint, err)
		}
		return nil, nil
	}
	perms, err := rpc.AuthVerify(ctx, token)
	if err != nil {
		if api.IsPermissionDenied(err) {
			return nil, fmt.Errorf("%s is not accepted by the sector manager at %s (%s): %v", config.TokenKey, endpoint, createTokenHint, err)
		}
		if _, answered := api.ErrorCode(err); answered {
			return nil, fmt.Errorf("%s is set, but the sector manager at %s cannot verify tokens, so the admin api could not "+
				"check its callers: remove the token, or use a manager with auth (mock --home): %v", config.TokenKey, endpoint, err)
		}
		return nil, fmt.Errorf("sector manager unreachable at %s (sector_manager.rpc_client.addr): %v", endpoint, err)
	}
	if !slices.Contains(perms, api.PermWrite) {
		return nil, fmt.Errorf("%s allows %v, but a worker needs write for its sealing calls: %s", config.TokenKey, perms, createTokenHint)
	}
	return admin.NewVerifier(rpc.AuthVerify, endpoint, token, perms), nil
}

// adminHandler serves the admin api and the metrics: checking tokens when the worker has one
// (the metrics need read), open otherwise.
func (d *Daemon) adminHandler() http.Handler {
	scrape := metrics.Handler(d.metrics)
	var rpc http.Handler
	if d.verifier == nil {
		rpc = admin.NewHandler(d.pool)
	} else {
		rpc = admin.NewHandlerWithAuth(d.pool, d.verifier.Verify)
		scrape = api.RequirePerm(api.WorkerAdminPerms(d.verifier.Verify), nil, api.PermRead, "the metrics", scrape)
	}
	scrape = &api.BrowserGuard{Next: scrape}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metrics.Path {
			scrape.ServeHTTP(w, r)
			return
		}
		rpc.ServeHTTP(w, r)
	})
}
