// Package auth is the manager's side of token auth, in the Lotus style: a secret in the home,
// HS256 JWTs whose payload is {"Allow":["read","write","admin"]} (plus iat, jti and, with a
// lifetime, exp for a token issued by `auth create-token`), and the admin token file
// <home>/token that the util commands read. It has no JWT dependency: HS256 is an HMAC-SHA256 of
// two base64url strings.
package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// MinSecretSize is the shortest secret accepted: HS256 wants at least the hash size.
const MinSecretSize = 32

// jwtHeader is the only header this package writes, the one Lotus's tokens carry.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// payload is a token's claims: Lotus's JWTPayload, with the registered claims of RFC 7519 that
// IssueToken adds: exp and iat (seconds since the epoch) and jti, a random id that makes every
// issued token distinct.
type payload struct {
	Allow     []api.Permission `json:"Allow"`
	ExpiresAt *int64           `json:"exp,omitempty"`
	IssuedAt  *int64           `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
}

// Authenticator creates and verifies the tokens of one secret. It is safe for concurrent use.
type Authenticator struct {
	secret []byte
	now    func() time.Time
}

// New uses secret (at least MinSecretSize bytes) to sign and verify tokens.
func New(secret []byte) (*Authenticator, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("jwt secret of %d bytes is too short: want at least %d", len(secret), MinSecretSize)
	}
	return &Authenticator{secret: bytes.Clone(secret), now: time.Now}, nil
}

// CreateToken signs a token that allows perms (see api.AllowFor for the usual lists) and never
// expires. Its payload is Lotus's, {"Allow":[...]}, so two tokens of the same permissions are the
// same string: the manager's own tokens (the admin token file, the proxy's credential).
func (a *Authenticator) CreateToken(perms []api.Permission) (string, error) {
	return a.sign(payload{Allow: perms})
}

// IssueToken signs a token for a caller (`auth create-token`): it allows perms, carries its issue
// time and a random jti, so no two are the same string (a worker's registered name is bound to
// its token), and expires ttl from now (whole seconds, rounded up) unless ttl is 0.
func (a *Authenticator) IssueToken(perms []api.Permission, ttl time.Duration) (string, error) {
	if ttl < 0 {
		return "", fmt.Errorf("invalid token lifetime %s: want a positive duration such as 720h", ttl)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	iat := a.now().Unix()
	p := payload{Allow: perms, IssuedAt: &iat, ID: hex.EncodeToString(id)}
	if ttl > 0 {
		exp := iat + int64((ttl+time.Second-1)/time.Second)
		p.ExpiresAt = &exp
	}
	return a.sign(p)
}

func (a *Authenticator) sign(p payload) (string, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(a.mac(signed)), nil
}

func (a *Authenticator) mac(signed string) []byte {
	mac := hmac.New(sha256.New, a.secret)
	mac.Write([]byte(signed))
	return mac.Sum(nil)
}

// ErrInvalidToken is wrapped by every error of Verify.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks token's signature and returns the permissions it allows. Only HS256 is accepted:
// "alg": "none" or any other algorithm is refused before anything else is read.
func (a *Authenticator) Verify(_ context.Context, token string) ([]api.Permission, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want a JWT (three base64url parts joined by dots)", ErrInvalidToken)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodePart(parts[0], &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalidToken, err)
	}
	if hdr.Alg != "HS256" {
		return nil, fmt.Errorf("%w: algorithm %q is not accepted: want HS256", ErrInvalidToken, hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrInvalidToken)
	}
	if !hmac.Equal(sig, a.mac(parts[0]+"."+parts[1])) {
		return nil, fmt.Errorf("%w: signature does not match this manager's secret "+
			"(a token of another manager, or of a secret that was replaced; create one with `venus-sector-manager auth create-token`)", ErrInvalidToken)
	}
	var p payload
	if err := decodePart(parts[1], &p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalidToken, err)
	}
	if p.ExpiresAt != nil && !a.now().Before(time.Unix(*p.ExpiresAt, 0)) {
		return nil, fmt.Errorf("%w: it expired at %s: create a new one with `venus-sector-manager auth create-token`",
			ErrInvalidToken, time.Unix(*p.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	if p.Allow == nil {
		p.Allow = []api.Permission{}
	}
	return p.Allow, nil
}

func decodePart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return errors.New("not base64url")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errors.New("not a JSON object of the expected form")
	}
	return nil
}
