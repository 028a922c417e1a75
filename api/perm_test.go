package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// The permission of every method, as the issue asks: listings read, the workers' sealing calls
// write, every change made by an operator admin.
func TestMethodPermissions(t *testing.T) {
	manager := map[string]api.Permission{
		"AllocateSector": "write", "AcquireDeals": "write", "AssignTicket": "write", "SubmitPreCommit": "write",
		"PollPreCommitState": "write", "SubmitPersisted": "write", "WaitSeed": "write", "SubmitProof": "write",
		"PollProofState": "write", "ReportState": "write", "ReportFinalized": "write", "ReportAborted": "write",
		"AllocateSanpUpSector": "write", "SubmitSnapUpProof": "write", "WorkerPing": "write",
		"StoreReserveSpace": "write", "StoreBasicInfo": "write", "Version": "write",

		"ListSectors": "read", "FindSector": "read", "SectorHistory": "read", "WorkerGetPingInfo": "read",
		"WorkerPingInfoList": "read", "AuthVerify": "read", "CheckProvable": "read", "ProvingInfo": "read",

		"RestoreSector": "admin", "WorkerPingInfoRemove": "admin",
		// The proxy calls a worker with the manager's credential: every one of them needs admin.
		"WorkerResolveDest": "admin", "WorkerAdminList": "admin", "WorkerAdminPause": "admin", "WorkerAdminResume": "admin",
		"WorkerAdminDrain": "admin", "WorkerAdminProgress": "admin",
	}
	it := reflect.TypeOf((*api.ServedManagerAPI)(nil)).Elem()
	if it.NumMethod() != len(manager) {
		t.Errorf("ServedManagerAPI has %d methods, the table %d", it.NumMethod(), len(manager))
	}
	for i := 0; i < it.NumMethod(); i++ {
		name := it.Method(i).Name
		if got := api.ManagerPerm(name); got != manager[name] {
			t.Errorf("Venus.%s needs %q, want %q", name, got, manager[name])
		}
	}
	worker := map[string]api.Permission{
		"WorkerList": "read", "WorkerPause": "admin", "WorkerResume": "admin", "WorkerSetEnv": "admin", "WorkerRemoveEnv": "admin", "WorkerDrain": "admin", "WorkerProgress": "read",
	}
	for name, want := range worker {
		if got := api.WorkerAdminPerm(name); got != want {
			t.Errorf("VenusWorker.%s needs %q, want %q", name, got, want)
		}
	}
	if api.ManagerPerm("Nope") != "" || api.WorkerAdminPerm("Nope") != "" {
		t.Error("an unknown method has a permission")
	}
}

func TestAllowFor(t *testing.T) {
	for perm, want := range map[api.Permission][]api.Permission{
		"read":  {"read"},
		"write": {"read", "write"},
		"admin": {"read", "write", "admin"},
		"sign":  nil,
		"":      nil,
	} {
		if got := api.AllowFor(perm); !reflect.DeepEqual(got, want) {
			t.Errorf("AllowFor(%q) = %v, want %v", perm, got, want)
		}
	}
	// The result is a copy: changing it does not change AllPermissions.
	api.AllowFor("admin")[0] = "x"
	if api.AllPermissions[0] != "read" {
		t.Fatal("AllowFor returned AllPermissions itself")
	}
}

func TestAuthHeader(t *testing.T) {
	if h := api.AuthHeader(""); h != nil {
		t.Errorf("AuthHeader(\"\") = %v, want nil", h)
	}
	if got := api.AuthHeader("abc").Get("Authorization"); got != "Bearer abc" {
		t.Errorf("AuthHeader = %q", got)
	}
}

// permsServer serves a ManagerStruct behind an AuthHandler whose Verify knows three tokens.
func permsServer(t *testing.T, verify bool, defaults ...api.Permission) string {
	t.Helper()
	var v func(context.Context, string) ([]api.Permission, error)
	if verify {
		v = func(_ context.Context, token string) ([]api.Permission, error) {
			switch token {
			case "tok-read":
				return api.AllowFor(api.PermRead), nil
			case "tok-write":
				return api.AllowFor(api.PermWrite), nil
			case "tok-admin":
				return api.AllowFor(api.PermAdmin), nil
			}
			return nil, errors.New("invalid token: unknown to the test")
		}
	}
	rpc := jsonrpc.NewServer()
	rpc.Register(api.ManagerNamespace, api.PermissionedManagerAPI(servedFake{&fakeManager{}}))
	srv := httptest.NewServer(&api.AuthHandler{Verify: v, Default: defaults, Next: rpc})
	t.Cleanup(srv.Close)
	return srv.URL
}

type servedFake struct{ *fakeManager }

func (servedFake) AuthVerify(context.Context, string) ([]api.Permission, error) {
	return []api.Permission{"read"}, nil
}

func clientWith(t *testing.T, url string, header http.Header) *api.ManagerClient {
	t.Helper()
	c, closer, err := api.NewManagerClient(context.Background(), url, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return c
}

// call makes one call of each permission level: read, write, admin.
func callEach(c *api.ManagerClient) map[api.Permission]error {
	ctx := context.Background()
	_, readErr := c.WorkerPingInfoList(ctx)
	_, writeErr := c.Version(ctx)
	adminErr := c.WorkerPingInfoRemove(ctx, "w1") // fakeManager answers nil
	return map[api.Permission]error{"read": readErr, "write": writeErr, "admin": adminErr}
}

func TestPermissionedManagerAPI(t *testing.T) {
	url := permsServer(t, true)
	method := map[api.Permission]string{"read": "WorkerPingInfoList", "write": "Version", "admin": "WorkerPingInfoRemove"}
	cases := []struct {
		name    string
		header  http.Header
		allowed []api.Permission
		reason  string
	}{
		{"no token", nil, nil, ""},
		{"read token", api.AuthHeader("tok-read"), []api.Permission{"read"}, ""},
		{"write token", api.AuthHeader("tok-write"), []api.Permission{"read", "write"}, ""},
		{"admin token", api.AuthHeader("tok-admin"), []api.Permission{"read", "write", "admin"}, ""},
		{"invalid token", api.AuthHeader("tok-forged"), nil, ": invalid token: unknown to the test"},
		{"not Bearer", http.Header{"Authorization": {"Basic tok-admin"}}, nil, `: the Authorization header is not "Bearer <token>"`},
	}
	for _, c := range cases {
		errs := callEach(clientWith(t, url+api.ManagerRPCPath, c.header))
		for _, perm := range []api.Permission{"read", "write", "admin"} {
			err := errs[perm]
			allowed := false
			for _, a := range c.allowed {
				allowed = allowed || a == perm
			}
			want := "missing permission to invoke '" + method[perm] + "' (need '" + string(perm) + "')" + c.reason
			switch {
			case allowed && err != nil:
				t.Errorf("%s: %s call refused: %v", c.name, perm, err)
			case !allowed && (err == nil || err.Error() != want || !api.IsPermissionDenied(err)):
				t.Errorf("%s: %s call: got %v, want %q (code %d)", c.name, perm, err, want, api.ErrCodePermissionDenied)
			}
		}
	}

	// The token query parameter of Lotus's websocket clients counts on a websocket upgrade only:
	// a plain request carrying one in its URL is refused, and told where the token goes.
	if _, err := clientWith(t, url+api.ManagerRPCPath+"?token=tok-read", nil).WorkerPingInfoList(context.Background()); err == nil ||
		err.Error() != `missing permission to invoke 'WorkerPingInfoList' (need 'read'): a token in the URL (?token=) is accepted on a websocket upgrade only: send it as "Authorization: Bearer <token>"` {
		t.Errorf("?token= over http: %v", err)
	}
	ws := "ws" + strings.TrimPrefix(url, "http") + api.ManagerRPCPath
	var c api.ManagerClient
	closer, err := jsonrpc.NewMergeClient(context.Background(), ws+"?token=tok-read", api.ManagerNamespace, []interface{}{&c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	if _, err := c.WorkerPingInfoList(context.Background()); err != nil {
		t.Errorf("?token= on a websocket: %v", err)
	}
}

func TestAuthHandlerDefaultsAndOpenMode(t *testing.T) {
	// Calls without a token get the defaults (a manager that accepts tokenless workers)…
	mixed := permsServer(t, true, api.PermWrite)
	errs := callEach(clientWith(t, mixed+api.ManagerRPCPath, nil))
	if errs["write"] != nil || errs["read"] == nil || errs["admin"] == nil {
		t.Errorf("tokenless with default write: %v", errs)
	}
	// …but a token that fails gets nothing, not the defaults.
	errs = callEach(clientWith(t, mixed+api.ManagerRPCPath, api.AuthHeader("tok-forged")))
	if errs["write"] == nil || !strings.HasSuffix(errs["write"].Error(), "unknown to the test") {
		t.Errorf("forged token with default write: %v", errs)
	}

	// Without Verify everybody may do everything, whatever it sends.
	open := permsServer(t, false)
	for _, h := range []http.Header{nil, api.AuthHeader("garbage"), {"Authorization": {"Basic x"}}} {
		for perm, err := range callEach(clientWith(t, open+api.ManagerRPCPath, h)) {
			if err != nil {
				t.Errorf("open server, header %v: %s call: %v", h, perm, err)
			}
		}
	}
}

func TestCheckPermWithoutHandler(t *testing.T) {
	err := api.CheckPerm(context.Background(), "WorkerList", api.PermRead)
	if err == nil || err.Error() != "missing permission to invoke 'WorkerList' (need 'read')" {
		t.Errorf("CheckPerm without a handler = %v", err)
	}
}
