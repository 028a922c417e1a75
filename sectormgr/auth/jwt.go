// Package auth is the manager's side of token auth, in the Lotus style: a secret in the home,
// HS256 JWTs whose payload is {"Allow":["read","write","admin"]}, and the admin token file
// <home>/token that the util commands read. It has no JWT dependency: HS256 is an HMAC-SHA256 of
// two base64url strings.
package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// MinSecretSize is the shortest secret accepted: HS256 wants at least the hash size.
const MinSecretSize = 32

// jwtHeader is the only header this package writes, the one Lotus's tokens carry.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// payload is a token's claims: Lotus's JWTPayload.
type payload struct {
	Allow []api.Permission `json:"Allow"`
}

// Authenticator creates and verifies the tokens of one secret. It is safe for concurrent use.
type Authenticator struct {
	secret []byte
}

// New uses secret (at least MinSecretSize bytes) to sign and verify tokens.
func New(secret []byte) (*Authenticator, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("jwt secret of %d bytes is too short: want at least %d", len(secret), MinSecretSize)
	}
	return &Authenticator{secret: bytes.Clone(secret)}, nil
}

// CreateToken signs a token that allows perms (see api.AllowFor for the usual lists).
func (a *Authenticator) CreateToken(perms []api.Permission) (string, error) {
	body, err := json.Marshal(payload{Allow: perms})
	if err != nil {
		return "", err
	}
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(a.sign(signed)), nil
}

func (a *Authenticator) sign(signed string) []byte {
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
	if !hmac.Equal(sig, a.sign(parts[0]+"."+parts[1])) {
		return nil, fmt.Errorf("%w: signature does not match this manager's secret "+
			"(a token of another manager, or of a secret that was replaced; create one with `venus-sector-manager auth create-token`)", ErrInvalidToken)
	}
	var p payload
	if err := decodePart(parts[1], &p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalidToken, err)
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
