package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// RequirePerm serves next to requests whose Authorization header carries a token with perm, or
// that carry none when the defaults include perm; the others get one line naming what needs
// what: 401 (no or invalid token) or 403 (a token without perm). The token is checked before
// anything of the request is read.
func RequirePerm(verify func(ctx context.Context, token string) ([]Permission, error), defaults []Permission,
	perm Permission, what string, next http.Handler) http.Handler {
	article := "a"
	if strings.ContainsAny(string(perm)[:1], "aeiou") {
		article = "an"
	}
	need := fmt.Sprintf("%s needs %s %s token (Authorization: Bearer <token>)", what, article, perm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !found || token == "" {
			if allows(defaults, perm) {
				next.ServeHTTP(w, r)
				return
			}
			http.Error(w, need+": none was sent", http.StatusUnauthorized)
			return
		}
		perms, err := verify(r.Context(), token)
		if err != nil {
			http.Error(w, need+": "+err.Error(), http.StatusUnauthorized)
			return
		}
		if !allows(perms, perm) {
			http.Error(w, fmt.Sprintf("%s: the token allows %v", need, perms), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allows says whether perms grant perm: hold it, or a permission above it (a tokenless worker let
// in with write may read pieces too).
func allows(perms []Permission, perm Permission) bool {
	for _, p := range perms {
		if slices.Contains(AllowFor(p), perm) {
			return true
		}
	}
	return false
}
