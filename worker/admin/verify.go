package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Defaults of a Verifier.
const (
	// DefaultVerifyTTL is how long the permissions of a token the manager accepted are kept: a
	// token made invalid by a new manager secret still works that long on a worker.
	DefaultVerifyTTL = time.Minute
	// VerifyTimeout bounds one Venus.AuthVerify call; the admin request waits for it.
	VerifyTimeout = 10 * time.Second
	// maxCached bounds the cache: when it is full the expired entries go, then all of them.
	maxCached = 1024
)

// Verifier decides the permissions of the tokens a worker's admin api receives by asking the
// sector manager (Venus.AuthVerify), the only holder of the secret. Accepted tokens are cached
// for a TTL; refusals and failures are never cached, and a manager that cannot be reached makes a
// call fail with an error saying so, never "invalid token". The worker's own token (the one in its
// config, which `venus-worker worker` sends) keeps the permissions the manager gave it at start-up
// while the manager is unreachable, so an operator can still list and pause threads locally.
type Verifier struct {
	ask         func(ctx context.Context, token string) ([]api.Permission, error)
	managerAddr string
	ownToken    string
	ownPerms    []api.Permission
	ttl         time.Duration
	now         func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedPerms
}

type cachedPerms struct {
	perms   []api.Permission
	expires time.Time
}

// NewVerifier asks ask (the manager client's AuthVerify) about tokens; managerAddr is named in
// errors; ownToken and ownPerms are the worker's token and the permissions verified at start-up.
func NewVerifier(ask func(ctx context.Context, token string) ([]api.Permission, error), managerAddr, ownToken string, ownPerms []api.Permission) *Verifier {
	return &Verifier{
		ask: ask, managerAddr: managerAddr, ownToken: ownToken, ownPerms: slices.Clone(ownPerms),
		ttl: DefaultVerifyTTL, now: time.Now, cache: map[[32]byte]cachedPerms{},
	}
}

// Verify returns the permissions of token (for api.AuthHandler).
func (v *Verifier) Verify(ctx context.Context, token string) ([]api.Permission, error) {
	key := sha256.Sum256([]byte(token))
	now := v.now()
	v.mu.Lock()
	c, ok := v.cache[key]
	v.mu.Unlock()
	if ok && now.Before(c.expires) {
		return slices.Clone(c.perms), nil
	}

	ctx, cancel := context.WithTimeout(ctx, VerifyTimeout)
	defer cancel()
	perms, err := v.ask(ctx, token)
	if err == nil {
		expires := now.Add(v.ttl)
		if exp, ok := tokenExpiry(token); ok && exp.Before(expires) {
			expires = exp
		}
		v.store(key, cachedPerms{perms: slices.Clone(perms), expires: expires})
		return perms, nil
	}
	if _, answered := api.ErrorCode(err); answered {
		return nil, fmt.Errorf("the sector manager at %s refused the token: %s", v.managerAddr, errMessage(err))
	}
	if v.ownToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(v.ownToken)) == 1 {
		if exp, ok := tokenExpiry(token); ok && !now.Before(exp) {
			return nil, fmt.Errorf("the worker's own token expired at %s, and the sector manager at %s cannot be asked (%v): "+
				"set a new %s", exp.UTC().Format(time.RFC3339), v.managerAddr, err, "sector_manager.rpc_client.token")
		}
		return slices.Clone(v.ownPerms), nil
	}
	return nil, fmt.Errorf("cannot verify the token: the sector manager at %s did not answer Venus.AuthVerify (%v); "+
		"try again once it is reachable, or use the worker's own token (venus-worker worker -c <config>)", v.managerAddr, err)
}

func (v *Verifier) store(key [32]byte, c cachedPerms) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= maxCached {
		now := v.now()
		for k, e := range v.cache {
			if !now.Before(e.expires) {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= maxCached {
			clear(v.cache)
		}
	}
	v.cache[key] = c
}

// errMessage is the message of a JSON-RPC error without the client's wrapping.
func errMessage(err error) string {
	var coded *api.CodedError
	if errors.As(err, &coded) {
		return coded.Message
	}
	var rpcErr *jsonrpc.JSONRPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Message
	}
	return err.Error()
}

// tokenExpiry reads the exp claim of a JWT without checking its signature (the manager did, or
// will): it only shortens how long an accepted token is trusted here.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	return time.Unix(*claims.Exp, 0), true
}
