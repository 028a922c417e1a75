package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

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

// PermWorkerAdmin is the permission of the credential the manager's proxy sends to workers (util
// worker info/pause/resume). A worker's admin api gives it every permission (WorkerAdminPerms);
// the manager's own api gives it none, so a worker host that leaks it cannot act on the cluster.
const PermWorkerAdmin Permission = "worker-admin"

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

// WorkerAdminPerms wraps the verifier of a worker's admin api: a token that the manager says
// carries PermWorkerAdmin (the manager's proxy) may call every VenusWorker method.
func WorkerAdminPerms(verify func(ctx context.Context, token string) ([]Permission, error)) func(ctx context.Context, token string) ([]Permission, error) {
	return func(ctx context.Context, token string) ([]Permission, error) {
		perms, err := verify(ctx, token)
		if err == nil && slices.Contains(perms, PermWorkerAdmin) {
			return append([]Permission(nil), AllPermissions...), nil
		}
		return perms, err
	}
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

type callerKey struct{}

// MaxBodyWithoutPermission is how much of a request body an AuthHandler reads from a caller that
// has no permission at all (no token where one is required, or a token it refused): enough for
// any one JSON-RPC call, whose refusal then names the method, and little enough that such callers
// cannot make the daemon hold their uploads.
const MaxBodyWithoutPermission = 16 << 10

// AuthHandler puts the caller's permissions into each request's context for the permission
// checks of the methods (CheckPerm, PermissionedManagerAPI), like go-jsonrpc's auth.Handler.
// Unlike auth.Handler it never answers 401 to a call it can read: a token that fails Verify gives
// no permission, and the refusal of the method names the permission it needs and why the token
// did not count, so a user sees one JSON-RPC error that says what to fix.
//
// The token is checked before the body is read. A caller without any permission gets at most
// MaxBodyWithoutPermission bytes read (a larger body is refused with 401 and the connection
// closed), and no websocket session (401).
//
// A token comes in the Authorization header ("Bearer <token>"); the token query parameter of
// Lotus's websocket clients is accepted on a websocket upgrade only, since a URL ends up in logs
// and browser histories.
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
	perms, failure := []Permission{}, ""
	token, reason := requestToken(r)
	switch {
	case reason != "":
		failure = reason
	case token == "":
		perms = append(perms, h.Default...)
	default:
		verified, err := h.Verify(ctx, token)
		if err != nil {
			failure = err.Error()
		} else {
			perms = verified
			ctx = context.WithValue(ctx, callerKey{}, tokenID(token))
		}
	}
	ctx = auth.WithPerm(ctx, perms)
	if failure != "" {
		ctx = withAuthFailure(ctx, failure)
	}
	if len(perms) == 0 && !boundBody(w, r, failure) {
		return
	}
	h.Next.ServeHTTP(w, r.WithContext(ctx))
}

// boundBody is the treatment of a caller without permission: its body is read only up to
// MaxBodyWithoutPermission, and kept so that the refusal of its call can name the method. It
// answers the request itself, and returns false, when there is more or it asks for a websocket.
func boundBody(w http.ResponseWriter, r *http.Request, failure string) bool {
	why := "no token"
	if failure != "" {
		why = failure
	}
	if IsWebsocketUpgrade(r) {
		http.Error(w, "missing permission: "+why+"; a websocket session needs a token with a permission", http.StatusUnauthorized)
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	var body []byte
	if r.ContentLength <= MaxBodyWithoutPermission {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, MaxBodyWithoutPermission+1))
		if err != nil {
			http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
			return false
		}
	}
	if r.ContentLength > MaxBodyWithoutPermission || len(body) > MaxBodyWithoutPermission {
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("missing permission: %s; the request was refused before its body was read "+
			"(a caller without a permission may send at most %d bytes)", why, MaxBodyWithoutPermission), http.StatusUnauthorized)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// IsWebsocketUpgrade tells a websocket upgrade request, as go-jsonrpc does (a Connection header
// that says upgrade).
func IsWebsocketUpgrade(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// requestToken reads "Authorization: Bearer <token>", else the token query parameter of a
// websocket upgrade. A reason says why the request's token cannot count: an Authorization header
// of another form, or a token in the URL of a plain request.
func requestToken(r *http.Request) (token, reason string) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, found := strings.CutPrefix(h, "Bearer ")
		if !found {
			return "", "the Authorization header is not \"Bearer <token>\""
		}
		return strings.TrimSpace(t), ""
	}
	t := r.URL.Query().Get("token")
	if t != "" && !IsWebsocketUpgrade(r) {
		return "", "a token in the URL (?token=) is accepted on a websocket upgrade only: send it as \"Authorization: Bearer <token>\""
	}
	return t, ""
}

// tokenID names a token without keeping it: the hex SHA-256 of the token.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CallerID names the token the request of ctx was verified with (the hex SHA-256 of the token),
// "" for a caller without a token or on an open daemon: the identity a worker's registered name
// is bound to.
func CallerID(ctx context.Context) string {
	id, _ := ctx.Value(callerKey{}).(string)
	return id
}

// WithCallerID is the context of a call verified with a token of that id (for tests of what
// reads CallerID).
func WithCallerID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
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

// CallObserver is told of every call a permissioned api serves: its method, how long it took and
// its error (a refused permission included).
type CallObserver func(method string, took time.Duration, err error)

// permissioned fills every func field of out (a pointer to a client struct with perm tags) with a
// function that checks the field's permission and then calls the method of the same name on in:
// go-jsonrpc's auth.PermissionedProxy, with CheckPerm's error. Every observer is told of every call.
func permissioned(in any, out any, observe ...CallObserver) {
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
		// call is the method behind its permission check.
		call := func(args []reflect.Value) []reflect.Value {
			err := CheckPerm(args[0].Interface().(context.Context), name, need)
			if err == nil {
				return fn.Call(args)
			}
			rerr := reflect.ValueOf(&err).Elem()
			if ft.NumOut() == 2 {
				return []reflect.Value{reflect.Zero(ft.Out(0)), rerr}
			}
			return []reflect.Value{rerr}
		}
		rv.Field(i).Set(observed(name, ft, call, observe))
	}
}

// ObserveCalls has observe told of every call made through client, a pointer to a go-jsonrpc
// client struct such as ManagerClient, once it is connected.
func ObserveCalls(client any, observe CallObserver) {
	rv := reflect.ValueOf(client).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		if f.Kind() != reflect.Func || f.IsNil() {
			continue
		}
		orig := reflect.ValueOf(f.Interface())
		f.Set(observed(rv.Type().Field(i).Name, f.Type(), orig.Call, []CallObserver{observe}))
	}
}

// observed is call, a function of type ft whose last result is an error, telling every observer
// of every call: its method name, how long it took and its error.
func observed(name string, ft reflect.Type, call func([]reflect.Value) []reflect.Value, observe []CallObserver) reflect.Value {
	if len(observe) == 0 {
		return reflect.MakeFunc(ft, call)
	}
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		start := time.Now()
		out := call(args)
		err, _ := out[len(out)-1].Interface().(error)
		for _, o := range observe {
			o(name, time.Since(start), err)
		}
		return out
	})
}
