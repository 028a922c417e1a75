package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

func testSecret(b byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

// pythonToken was made with Python's hmac module, independently of this package:
// secret bytes 0..31, payload {"Allow":["read","write"]}, the header Lotus's tokens carry.
const pythonToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiXX0.a2dV0UrA0kX6qMxjUfdyJZUwmw8W-rDDjES_OWZDB94"

func TestTokenIsAStandardHS256JWT(t *testing.T) {
	a, err := New(testSecret(0))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken(api.AllowFor(api.PermWrite))
	if err != nil {
		t.Fatal(err)
	}
	if tok != pythonToken {
		t.Errorf("token\n got %s\nwant %s", tok, pythonToken)
	}
	perms, err := a.Verify(context.Background(), pythonToken)
	if err != nil || !reflect.DeepEqual(perms, []api.Permission{"read", "write"}) {
		t.Errorf("Verify = %v, %v", perms, err)
	}
}

func TestVerifyRefusesForgedTokens(t *testing.T) {
	a, _ := New(testSecret(0))
	other, _ := New(testSecret(1))
	foreign, _ := other.CreateToken(api.AllowFor(api.PermAdmin))
	parts := strings.Split(pythonToken, ".")
	enc := base64.RawURLEncoding.EncodeToString
	adminPayload := enc([]byte(`{"Allow":["read","write","admin"]}`))

	cases := map[string]struct{ token, want string }{
		"another secret":   {foreign, "signature does not match this manager's secret"},
		"tampered payload": {parts[0] + "." + adminPayload + "." + parts[2], "signature does not match"},
		"alg none":         {enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + adminPayload + ".", `algorithm "none" is not accepted: want HS256`},
		"alg none, sig":    {enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2], `algorithm "none" is not accepted`},
		"alg HS512":        {enc([]byte(`{"alg":"HS512"}`)) + "." + parts[1] + "." + parts[2], `algorithm "HS512" is not accepted`},
		"no alg":           {enc([]byte(`{}`)) + "." + parts[1] + "." + parts[2], `algorithm "" is not accepted`},
		"signature cut":    {parts[0] + "." + parts[1] + "." + parts[2][:20], "signature does not match"},
		"no signature":     {parts[0] + "." + parts[1] + ".", "signature does not match"},
		"two parts":        {parts[0] + "." + parts[1], "want a JWT"},
		"four parts":       {pythonToken + ".x", "want a JWT"},
		"empty":            {"", "want a JWT"},
		"header not b64":   {"!!." + parts[1] + "." + parts[2], "header: not base64url"},
		"header not json":  {enc([]byte("alg")) + "." + parts[1] + "." + parts[2], "header: not a JSON object"},
		"sig not b64":      {parts[0] + "." + parts[1] + ".***", "signature is not base64url"},
	}
	for name, c := range cases {
		perms, err := a.Verify(context.Background(), c.token)
		if err == nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), c.want) || perms != nil {
			t.Errorf("%s: Verify = %v, %v; want an error with %q", name, perms, err, c.want)
		}
	}

	// A payload that is signed but not of the expected form is refused too.
	bad, _ := New(testSecret(0))
	signed := parts[0] + "." + enc([]byte(`{"Allow":"admin"}`))
	forged := signed + "." + enc(bad.mac(signed))
	if _, err := a.Verify(context.Background(), forged); err == nil || !strings.Contains(err.Error(), "payload") {
		t.Errorf("Allow as a string: %v", err)
	}
	// A signed token without Allow has no permission (not nil: nil would mean "not verified").
	signed = parts[0] + "." + enc([]byte(`{}`))
	if perms, err := a.Verify(context.Background(), signed+"."+enc(bad.mac(signed))); err != nil || perms == nil || len(perms) != 0 {
		t.Errorf("no Allow: %v, %v", perms, err)
	}
}

func TestNewRefusesShortSecrets(t *testing.T) {
	if _, err := New(make([]byte, 31)); err == nil || !strings.Contains(err.Error(), "31 bytes is too short") {
		t.Errorf("New(31 bytes) = %v", err)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestOpenHomeCreatesTheSecretAndTheAdminTokenOnce(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	a, created, err := OpenHome(home)
	if err != nil || !created {
		t.Fatalf("OpenHome = %v, created %v", err, created)
	}
	if m := mode(t, filepath.Join(home, SecretFile)); m != 0o600 {
		t.Errorf("secret mode %04o", m)
	}
	if m := mode(t, filepath.Join(home, TokenFile)); m != 0o600 {
		t.Errorf("token mode %04o", m)
	}
	if m := mode(t, home); m != 0o700 {
		t.Errorf("home mode %04o", m)
	}
	token, ok, err := ReadTokenFile(home)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if perms, err := a.Verify(context.Background(), token); err != nil || !reflect.DeepEqual(perms, api.AllPermissions) {
		t.Errorf("token file allows %v, %v", perms, err)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 2 {
		t.Errorf("home holds %d entries, want the secret and the token (no temporary files)", len(entries))
	}

	// A second start keeps the secret, so tokens given out stay valid.
	given, _ := a.CreateToken(api.AllowFor(api.PermRead))
	b, created, err := OpenHome(home)
	if err != nil || created {
		t.Fatalf("second OpenHome = %v, created %v", err, created)
	}
	if _, err := b.Verify(context.Background(), given); err != nil {
		t.Errorf("a token of the first start is refused after a restart: %v", err)
	}
	// LoadHome (auth create-token) reads the same secret.
	c, err := LoadHome(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(context.Background(), given); err != nil {
		t.Errorf("LoadHome: %v", err)
	}

	// A stale or damaged token file is rewritten; a valid one is left alone.
	os.WriteFile(filepath.Join(home, TokenFile), []byte("stale"), 0o600)
	if _, _, err := OpenHome(home); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := ReadTokenFile(home); again != token {
		t.Errorf("token file after a stale one = %q, want %q", again, token)
	}

	// A new secret (the old one deleted) invalidates the old tokens, token file included.
	os.Remove(filepath.Join(home, SecretFile))
	d, created, err := OpenHome(home)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	if _, err := d.Verify(context.Background(), given); err == nil {
		t.Error("a token of the deleted secret is still accepted")
	}
	if fresh, _, _ := ReadTokenFile(home); fresh == token {
		t.Error("the token file still holds a token of the deleted secret")
	} else if _, err := d.Verify(context.Background(), fresh); err != nil {
		t.Errorf("new token file: %v", err)
	}
}

func TestHomeErrorsNameTheFileAndTheFix(t *testing.T) {
	home := t.TempDir()
	_, err := LoadHome(home)
	if err == nil || !strings.Contains(err.Error(), "no jwt secret at "+filepath.Join(home, SecretFile)) ||
		!strings.Contains(err.Error(), "mock --home "+home) {
		t.Errorf("LoadHome of an empty home: %v", err)
	}

	if _, _, err := OpenHome(home); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(home, SecretFile)
	os.Chmod(secret, 0o644)
	if _, _, err := OpenHome(home); err == nil || !strings.Contains(err.Error(), "readable by other users (mode 0644): chmod 600 "+secret) {
		t.Errorf("world-readable secret: %v", err)
	}
	os.Chmod(secret, 0o600)
	os.WriteFile(secret, []byte("abcd\n"), 0o600)
	if _, _, err := OpenHome(home); err == nil || !strings.Contains(err.Error(), "jwt secret "+secret+" is damaged") ||
		!strings.Contains(err.Error(), "delete it to create a new one") {
		t.Errorf("damaged secret: %v", err)
	}
	os.WriteFile(secret, []byte("not hex at all, but long enough to be a secret of 32 bytes\n"), 0o600)
	if _, err := LoadHome(home); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("non-hex secret: %v", err)
	}

	if _, ok, err := ReadTokenFile(t.TempDir()); ok || err != nil {
		t.Errorf("ReadTokenFile of a home without token = %v, %v", ok, err)
	}
}

// An issued token with a lifetime carries iat, exp and a random jti, is accepted until exp, and
// is then refused with one line that says it expired and how to get another.
func TestExpiringToken(t *testing.T) {
	a, _ := New(testSecret(0))
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return at }
	tok, err := a.IssueToken(api.AllowFor(api.PermRead), 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !regexp.MustCompile(`^\{"Allow":\["read"\],"exp":1772371800,"iat":1772366400,"jti":"[0-9a-f]{32}"\}$`).Match(body) {
		t.Errorf("payload = %s", body)
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{at, ""},
		{at.Add(90*time.Minute - time.Second), ""},
		{at.Add(90 * time.Minute), "invalid token: it expired at 2026-03-01T13:30:00Z: create a new one with `venus-sector-manager auth create-token`"},
		{at.Add(1000 * time.Hour), "invalid token: it expired at 2026-03-01T13:30:00Z: create a new one with `venus-sector-manager auth create-token`"},
	} {
		a.now = func() time.Time { return c.at }
		perms, err := a.Verify(context.Background(), tok)
		if c.want == "" && (err != nil || !reflect.DeepEqual(perms, []api.Permission{"read"})) {
			t.Errorf("at %s: %v, %v", c.at, perms, err)
		}
		if c.want != "" && (err == nil || err.Error() != c.want || !errors.Is(err, ErrInvalidToken) || perms != nil) {
			t.Errorf("at %s: %v, %v\nwant %s", c.at, perms, err, c.want)
		}
	}
	// A token without exp never expires.
	a.now = func() time.Time { return at }
	forever, _ := a.IssueToken(api.AllowFor(api.PermRead), 0)
	a.now = func() time.Time { return at.Add(100 * 365 * 24 * time.Hour) }
	if _, err := a.Verify(context.Background(), forever); err != nil {
		t.Errorf("token without exp: %v", err)
	}
	if _, err := a.IssueToken(api.AllowFor(api.PermRead), -time.Second); err == nil || err.Error() != "invalid token lifetime -1s: want a positive duration such as 720h" {
		t.Errorf("ttl -1s: %v", err)
	}
}

// Issued tokens are distinct even when made at the same second with the same permissions: a
// worker's registered name is bound to its token. CreateToken stays Lotus's deterministic form.
func TestIssuedTokensAreDistinct(t *testing.T) {
	a, _ := New(testSecret(0))
	a.now = func() time.Time { return time.Unix(1772366400, 0) }
	first, _ := a.IssueToken(api.AllowFor(api.PermWrite), 0)
	second, _ := a.IssueToken(api.AllowFor(api.PermWrite), 0)
	if first == second {
		t.Error("two issued write tokens are the same string")
	}
	for _, tok := range []string{first, second} {
		if perms, err := a.Verify(context.Background(), tok); err != nil || !reflect.DeepEqual(perms, []api.Permission{"read", "write"}) {
			t.Errorf("Verify(issued) = %v, %v", perms, err)
		}
	}
	x, _ := a.CreateToken(api.AllowFor(api.PermWrite))
	y, _ := a.CreateToken(api.AllowFor(api.PermWrite))
	if x != y || x != pythonToken {
		t.Error("CreateToken is no longer Lotus's deterministic token")
	}
}
