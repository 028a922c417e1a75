package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Files in the manager's home.
const (
	// SecretFile holds the JWT secret, 32 random bytes in hex (mode 0600). Deleting it (with the
	// manager stopped) invalidates every token: the next start creates a new one.
	SecretFile = "jwt-secret"
	// TokenFile holds an admin token (mode 0600), written at start when missing or stale, for the
	// util commands on this host, as Lotus writes ~/.lotus/token.
	TokenFile = "token"
)

// TokenEnv is the environment variable the util commands read a token from when --token is not
// given.
const TokenEnv = "VENUS_SECTOR_MANAGER_TOKEN"

// OpenHome is what a manager with a home does at start: it loads <home>/jwt-secret, creating it
// on first start, and writes an admin token to <home>/token unless the file already holds a
// token of this secret. created says whether the secret is new.
func OpenHome(home string) (a *Authenticator, created bool, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, false, fmt.Errorf("create home %s: %w", home, err)
	}
	path := filepath.Join(home, SecretFile)
	a, err = loadSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		a, err = createSecret(path)
		created = err == nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := a.ensureTokenFile(filepath.Join(home, TokenFile)); err != nil {
		return nil, false, err
	}
	return a, created, nil
}

// LoadHome loads the secret of a home that a manager created, for `auth create-token`.
func LoadHome(home string) (*Authenticator, error) {
	path := filepath.Join(home, SecretFile)
	a, err := loadSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no jwt secret at %s: start the manager with this home once "+
			"(venus-sector-manager mock --home %s ...), or pass the manager's --home", path, home)
	}
	return a, err
}

func loadSecret(path string) (*Authenticator, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return nil, fmt.Errorf("jwt secret %s is readable by other users (mode %04o): chmod 600 %s", path, mode, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwt secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err == nil {
		var a *Authenticator
		if a, err = New(secret); err == nil {
			return a, nil
		}
	}
	return nil, fmt.Errorf("jwt secret %s is damaged (%v): restore it, or delete it to create a new one, "+
		"which invalidates every token given out", path, err)
}

// createSecret writes a new secret without ever leaving a partial file under path: a crash leaves
// at most a temporary file, and a secret another process created first is kept.
func createSecret(path string) (*Authenticator, error) {
	secret := make([]byte, MinSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(secret)+"\n"), false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadSecret(path)
		}
		return nil, fmt.Errorf("create jwt secret: %w", err)
	}
	return New(secret)
}

func (a *Authenticator) ensureTokenFile(path string) error {
	if raw, err := os.ReadFile(path); err == nil {
		perms, err := a.Verify(context.Background(), strings.TrimSpace(string(raw)))
		if err == nil && slices.Equal(perms, api.AllPermissions) {
			return nil
		}
	}
	token, err := a.CreateToken(api.AllowFor(api.PermAdmin))
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, []byte(token), true); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	return nil
}

// writeFileAtomic writes data with mode 0600 to a temporary file, syncs it, and moves it to path:
// replacing what is there, or (replace false) failing with fs.ErrExist if path exists.
func writeFileAtomic(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadTokenFile reads the token in <home>/token; ok is false when there is no such file.
func ReadTokenFile(home string) (token string, ok bool, err error) {
	path := filepath.Join(home, TokenFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read token file: %w", err)
	}
	return string(bytes.TrimSpace(raw)), true, nil
}
