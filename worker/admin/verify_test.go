package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// fakeManager answers AuthVerify like a manager: known tokens, a refusal, or unreachable.
type fakeManager struct {
	mu      sync.Mutex
	perms   map[string][]api.Permission
	down    bool
	asked   []string
	refusal error
}

func (f *fakeManager) AuthVerify(_ context.Context, token string) ([]api.Permission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, token)
	if f.down {
		return nil, errors.New("dial tcp 127.0.0.1:1789: connect: connection refused")
	}
	if p, ok := f.perms[token]; ok {
		return p, nil
	}
	return nil, &jsonrpc.JSONRPCError{Code: api.ErrCodeLogic, Message: "invalid token: signature does not match this manager's secret"}
}

func (f *fakeManager) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeManager) askedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

func newTestVerifier(m *fakeManager, clock *time.Time) *Verifier {
	v := NewVerifier(m.AuthVerify, "http://mgr/rpc/v0", "own", api.AllowFor(api.PermAdmin))
	v.now = func() time.Time { return *clock }
	return v
}

func TestVerifierCachesAcceptedTokensForTheTTL(t *testing.T) {
	clock := time.Unix(1000, 0)
	m := &fakeManager{perms: map[string][]api.Permission{"op": api.AllowFor(api.PermRead)}}
	v := newTestVerifier(m, &clock)
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		if p, err := v.Verify(ctx, "op"); err != nil || !reflect.DeepEqual(p, []api.Permission{"read"}) {
			t.Fatalf("Verify = %v, %v", p, err)
		}
	}
	if n := m.askedCount(); n != 1 {
		t.Errorf("asked the manager %d times within the TTL, want 1", n)
	}
	// Revoked on the manager (a new secret): still accepted until the TTL ends, then refused.
	m.set(func() { delete(m.perms, "op") })
	clock = clock.Add(DefaultVerifyTTL - time.Second)
	if _, err := v.Verify(ctx, "op"); err != nil {
		t.Errorf("within the TTL: %v", err)
	}
	clock = clock.Add(time.Second)
	if _, err := v.Verify(ctx, "op"); err == nil || err.Error() != "the sector manager at http://mgr/rpc/v0 refused the token: invalid token: signature does not match this manager's secret" {
		t.Errorf("after the TTL: %v", err)
	}
	if n := m.askedCount(); n != 2 {
		t.Errorf("asked %d times, want 2", n)
	}
}

func TestVerifierNeverCachesFailures(t *testing.T) {
	clock := time.Unix(1000, 0)
	m := &fakeManager{perms: map[string][]api.Permission{}, down: true}
	v := newTestVerifier(m, &clock)
	ctx := context.Background()

	// The manager is down: a token is neither accepted nor called invalid.
	_, err := v.Verify(ctx, "op")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot verify the token: the sector manager at http://mgr/rpc/v0 did not answer Venus.AuthVerify") ||
		strings.Contains(err.Error(), "invalid") {
		t.Errorf("manager down: %v", err)
	}
	// The worker's own token keeps the permissions it had at start-up meanwhile.
	if p, err := v.Verify(ctx, "own"); err != nil || !reflect.DeepEqual(p, api.AllPermissions) {
		t.Errorf("own token, manager down: %v, %v", p, err)
	}
	// Back up: the token is asked about again (the failure was not cached) and accepted.
	m.set(func() { m.down = false; m.perms["op"] = api.AllowFor(api.PermAdmin) })
	if p, err := v.Verify(ctx, "op"); err != nil || len(p) != 3 {
		t.Errorf("manager back: %v, %v", p, err)
	}
	// A refusal is not cached either: a token the manager learns to accept works at once.
	if _, err := v.Verify(ctx, "later"); err == nil {
		t.Fatal("unknown token accepted")
	}
	m.set(func() { m.perms["later"] = api.AllowFor(api.PermRead) })
	if _, err := v.Verify(ctx, "later"); err != nil {
		t.Errorf("refusal was cached: %v", err)
	}
	// The own token is refused like any other when the manager answers that it is invalid.
	if _, err := v.Verify(ctx, "own"); err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("own token refused by the manager: %v", err)
	}
}

func TestVerifierCacheIsBounded(t *testing.T) {
	clock := time.Unix(1000, 0)
	m := &fakeManager{perms: map[string][]api.Permission{}}
	v := newTestVerifier(m, &clock)
	for i := 0; i < maxCached+10; i++ {
		tok := "t" + string(rune('a'+i%26)) + strings.Repeat("x", i)
		m.perms[tok] = api.AllowFor(api.PermRead)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	v.mu.Lock()
	n := len(v.cache)
	v.mu.Unlock()
	if n > maxCached {
		t.Errorf("cache holds %d entries, max %d", n, maxCached)
	}
}

// Every admin method with no token, a read, a write and an admin token, and a refused one.
func TestAdminAPIWithTokens(t *testing.T) {
	clock := time.Unix(1000, 0)
	m := &fakeManager{perms: map[string][]api.Permission{
		"read": api.AllowFor(api.PermRead), "write": api.AllowFor(api.PermWrite), "admin": api.AllowFor(api.PermAdmin),
		// The credential the manager's proxy sends: every method of a worker.
		"proxy": {api.PermWorkerAdmin},
	}}
	v := newTestVerifier(m, &clock)
	srv := httptest.NewServer(NewHandlerWithAuth(&fakeThreads{}, v.Verify))
	t.Cleanup(srv.Close)
	t.Setenv("VC_ADMIN_AUTH_TEST", "")

	calls := map[string]func(c *api.WorkerAdminClient) error{
		"WorkerList":  func(c *api.WorkerAdminClient) error { _, err := c.WorkerList(context.Background()); return err },
		"WorkerPause": func(c *api.WorkerAdminClient) error { _, err := c.WorkerPause(context.Background(), 0); return err },
		"WorkerResume": func(c *api.WorkerAdminClient) error {
			_, err := c.WorkerResume(context.Background(), 0, nil)
			return err
		},
		"WorkerSetEnv": func(c *api.WorkerAdminClient) error {
			return c.WorkerSetEnv(context.Background(), "VC_ADMIN_AUTH_TEST", "1")
		},
		"WorkerRemoveEnv": func(c *api.WorkerAdminClient) error {
			return c.WorkerRemoveEnv(context.Background(), "VC_ADMIN_AUTH_TEST")
		},
	}
	for _, token := range []string{"", "read", "write", "admin", "proxy", "forged"} {
		c, closer, err := api.NewWorkerAdminClient(context.Background(), strings.TrimPrefix(srv.URL, "http://"), api.AuthHeader(token))
		if err != nil {
			t.Fatal(err)
		}
		for method, call := range calls {
			need := api.WorkerAdminPerm(method)
			err := call(c)
			if token == "proxy" || slices.Contains(m.perms[token], need) {
				if err != nil {
					t.Errorf("%s with token %q: %v", method, token, err)
				}
				continue
			}
			want := "missing permission to invoke '" + method + "' (need '" + string(need) + "')"
			if token == "forged" {
				want += ": the sector manager at http://mgr/rpc/v0 refused the token: invalid token: signature does not match this manager's secret"
			}
			if err == nil || err.Error() != want || !api.IsPermissionDenied(err) {
				t.Errorf("%s with token %q: got %v\nwant %s", method, token, err, want)
			}
		}
		closer()
	}
}

// expiringToken is a JWT-shaped token whose payload says it expires at exp (the signature is the
// manager's business: the fake manager knows the token as a whole).
func expiringToken(exp int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"Allow":["read"],"exp":%d}`, exp))) + ".sig"
}

// A token that expires is trusted from the cache no longer than its exp, and the worker's own
// token, used while the manager is down, not past it either.
func TestVerifierHonoursTokenExpiry(t *testing.T) {
	clock := time.Unix(1000, 0)
	tok := expiringToken(1020)
	m := &fakeManager{perms: map[string][]api.Permission{tok: {"read"}}}
	v := newTestVerifier(m, &clock)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(19 * time.Second)
	v.Verify(context.Background(), tok)
	if n := m.askedCount(); n != 1 {
		t.Fatalf("asked %d times before exp, want 1 (cached)", n)
	}
	clock = clock.Add(time.Second) // at exp, well within the cache TTL
	m.set(func() { delete(m.perms, tok) })
	if _, err := v.Verify(context.Background(), tok); err == nil || m.askedCount() != 2 {
		t.Errorf("at exp: %v, asked %d times; want the manager asked again, and its refusal", err, m.askedCount())
	}

	own := expiringToken(1100)
	v = NewVerifier(m.AuthVerify, "http://mgr/rpc/v0", own, api.AllowFor(api.PermAdmin))
	v.now = func() time.Time { return clock }
	m.set(func() { m.down = true })
	if p, err := v.Verify(context.Background(), own); err != nil || len(p) != 3 {
		t.Errorf("own token before exp, manager down: %v, %v", p, err)
	}
	clock = time.Unix(1100, 0)
	_, err := v.Verify(context.Background(), own)
	want := "the worker's own token expired at 1970-01-01T00:18:20Z, and the sector manager at http://mgr/rpc/v0 cannot be asked " +
		"(dial tcp 127.0.0.1:1789: connect: connection refused): set a new sector_manager.rpc_client.token"
	if err == nil || err.Error() != want {
		t.Errorf("own token after exp: %v\nwant %s", err, want)
	}
}
