package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/filecoin-project/go-jsonrpc/auth"
)

// Permission is one right a token grants, as in Lotus: a token's JWT payload is
// {"Allow":["read","write"]}.
type Permission = auth.Permission

// The permissions of both daemons. Each method of the Venus and VenusWorker namespaces needs one of
// them (the perm tag on its client field): listings need read, the worker-facing sealing calls
// need write, and everything that changes a worker or the manager's registry needs admin. A token
// is created with one level and carries the levels below it (AllowFor).
const (
	PermRead  Permission = "read"
	PermWrite Permission = "write"
	PermAdmin Permission = "admin"
)

// AllPermissions is what an admin token carries, and what every caller of an open daemon has.
var AllPermissions = []Permission{PermRead, PermWrite, PermAdmin}

// AllowFor is the Allow list of a token created for perm: admin implies write implies read, as
// `lotus auth create-token --perm` does. An unknown perm gives nil.
func AllowFor(perm Permission) []Permission {
	for i, p := range AllPermissions {
		if p == perm {
			return append([]Permission(nil), AllPermissions[:i+1]...)
		}
	}
	return nil
}

// ErrCodePermissionDenied is the JSON-RPC code of a call refused for want of a permission: no
// token, a token without the permission, or a token the daemon could not accept.
const ErrCodePermissionDenied = 11403

// IsPermissionDenied reports whether a call failed with ErrCodePermissionDenied.
func IsPermissionDenied(err error) bool {
	code, ok := ErrorCode(err)
	return ok && code == ErrCodePermissionDenied
}

// AuthHeader is the request header that carries token ("Authorization: Bearer <token>"); nil for
// an empty token, so a client without a token sends no header at all.
func AuthHeader(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{"Authorization": []string{"Bearer " + token}}
}

type authFailureKey struct{}

// AuthHandler puts the caller's permissions into each request's context for the permission
// checks of the methods (CheckPerm, PermissionedManagerAPI), like go-jsonrpc's auth.Handler.
// Unlike auth.Handler it never answers 401: a token that fails Verify gives no permission, and
// the refusal of the method names the permission it needs and why the token did not count, so a
// user sees one JSON-RPC error that says what to fix.
type AuthHandler struct {
	// Verify returns the permissions of a token; nil makes the daemon open: every caller has
	// every permission, whatever it sends.
	Verify func(ctx context.Context, token string) ([]Permission, error)
	// Default are the permissions of a request without a token (none, unless told otherwise).
	Default []Permission
	Next    http.Handler
}

func (h *AuthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.Verify == nil {
		h.Next.ServeHTTP(w, r.WithContext(auth.WithPerm(ctx, AllPermissions)))
		return
	}
	token, ok := requestToken(r)
	switch {
	case !ok:
		ctx = withAuthFailure(auth.WithPerm(ctx, []Permission{}), "the Authorization header is not \"Bearer <token>\"")
	case token == "":
		ctx = auth.WithPerm(ctx, append([]Permission{}, h.Default...))
	default:
		perms, err := h.Verify(ctx, token)
		if err != nil {
			ctx = withAuthFailure(auth.WithPerm(ctx, []Permission{}), err.Error())
		} else {
			ctx = auth.WithPerm(ctx, perms)
		}
	}
	h.Next.ServeHTTP(w, r.WithContext(ctx))
}

// requestToken reads "Authorization: Bearer <token>", else the token query parameter (websocket
// clients of Lotus use it); ok is false for an Authorization header of another form.
func requestToken(r *http.Request) (token string, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, found := strings.CutPrefix(h, "Bearer ")
		return strings.TrimSpace(t), found
	}
	return r.URL.Query().Get("token"), true
}

func withAuthFailure(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, authFailureKey{}, reason)
}

// CheckPerm refuses method unless the caller (AuthHandler) has need. A context that never went
// through an AuthHandler has no permission at all.
func CheckPerm(ctx context.Context, method string, need Permission) error {
	if auth.HasPerm(ctx, nil, need) {
		return nil
	}
	msg := fmt.Sprintf("missing permission to invoke '%s' (need '%s')", method, need)
	if reason, ok := ctx.Value(authFailureKey{}).(string); ok {
		msg += ": " + reason
	}
	return &CodedError{Code: ErrCodePermissionDenied, Message: msg}
}

var permTables sync.Map // reflect.Type → map[string]Permission

// permTable reads the perm tags of a client struct; a field without a valid tag panics, which a
// test of each struct catches.
func permTable(client any) map[string]Permission {
	t := reflect.TypeOf(client)
	if v, ok := permTables.Load(t); ok {
		return v.(map[string]Permission)
	}
	st := t.Elem()
	table := map[string]Permission{}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		p := Permission(f.Tag.Get("perm"))
		if AllowFor(p) == nil {
			panic(fmt.Sprintf("%s.%s: missing or unknown perm tag %q", st.Name(), f.Name, p))
		}
		table[f.Name] = p
	}
	permTables.Store(t, table)
	return table
}

// ManagerPerm is the permission a Venus method needs ("" for an unknown method).
func ManagerPerm(method string) Permission { return permTable((*ManagerClient)(nil))[method] }

// WorkerAdminPerm is the permission a VenusWorker method needs ("" for an unknown method).
func WorkerAdminPerm(method string) Permission { return permTable((*WorkerAdminClient)(nil))[method] }

// permissioned fills every func field of out (a pointer to a client struct with perm tags) with a
// function that checks the field's permission and then calls the method of the same name on in:
// go-jsonrpc's auth.PermissionedProxy, with CheckPerm's error.
func permissioned(in any, out any) {
	table := permTable(out)
	rv := reflect.ValueOf(out).Elem()
	impl := reflect.ValueOf(in)
	for i := 0; i < rv.NumField(); i++ {
		field := rv.Type().Field(i)
		need := table[field.Name]
		fn := impl.MethodByName(field.Name)
		if !fn.IsValid() {
			panic(fmt.Sprintf("%T has no method %s", in, field.Name))
		}
		name := field.Name
		ft := field.Type
		rv.Field(i).Set(reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
			ctx := args[0].Interface().(context.Context)
			err := CheckPerm(ctx, name, need)
			if err == nil {
				return fn.Call(args)
			}
			rerr := reflect.ValueOf(&err).Elem()
			if ft.NumOut() == 2 {
				return []reflect.Value{reflect.Zero(ft.Out(0)), rerr}
			}
			return []reflect.Value{rerr}
		}))
	}
}
