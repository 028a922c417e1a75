package command

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/auth"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

const (
	flagAllowWorkersWithoutToken = "allow-workers-without-token"
	flagToken                    = "token"
	flagTokenFile                = "token-file"
	flagPerm                     = "perm"
	flagTTL                      = "ttl"
)

// managerAuth sets up token auth for a manager with a home: the secret and the admin token file
// in the home, the server's verifier, and the credential the manager's proxy sends to workers
// for util worker calls: a token that allows api.PermWorkerAdmin only, which workers accept for
// their admin api and the manager refuses, never the manager's admin token. Without a home the
// manager is open and proxyToken is "".
func managerAuth(c *cli.Context, home string) (opts []server.Option, proxyToken string, err error) {
	allowTokenless := c.Bool(flagAllowWorkersWithoutToken)
	if home == "" {
		if allowTokenless {
			log.Warnf("--%s has no effect without --home: this manager is open to every caller", flagAllowWorkersWithoutToken)
		}
		return nil, "", nil
	}
	a, created, err := auth.OpenHome(home)
	if err != nil {
		return nil, "", err
	}
	if created {
		log.Infow("created the jwt secret; an admin token is in the token file", "secret", home+"/"+auth.SecretFile, "token", home+"/"+auth.TokenFile)
	}
	proxyToken, err = a.CreateToken([]api.Permission{api.PermWorkerAdmin})
	if err != nil {
		return nil, "", err
	}
	var defaults []api.Permission
	if allowTokenless {
		defaults = []api.Permission{api.PermWrite}
		log.Warnw("workers' sealing calls are accepted without a token (--" + flagAllowWorkersWithoutToken + "); give every worker a token and drop the flag")
	}
	log.Infow("token auth on: util commands find the admin token in the home", "token", home+"/"+auth.TokenFile)
	return []server.Option{server.WithAuth(a.Verify, defaults...)}, proxyToken, nil
}

func authCommand() *cli.Command {
	return &cli.Command{
		Name:  "auth",
		Usage: "tokens for the manager's api (the secret is in the manager's home)",
		Subcommands: []*cli.Command{{
			Name: "create-token",
			Usage: "print a new token: read (listings), write (a worker's sealing calls; implies read) or admin (pause, resume, remove, restore; implies write); " +
				"every token is distinct: give each worker its own, since a worker's name is bound to the token of its first ping",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: flagPerm, Required: true, Usage: "read, write or admin"},
				&cli.DurationFlag{Name: flagTTL, Usage: "make the token expire after this long, e.g. 720h (default: it never expires; " +
					"every token stops working when the secret in the home is replaced)"},
			},
			Action: createToken,
		}},
	}
}

func createToken(c *cli.Context) error {
	perm := c.String(flagPerm)
	allow := api.AllowFor(api.Permission(perm))
	if allow == nil {
		return fmt.Errorf("invalid --perm %q: want read, write or admin", perm)
	}
	ttl := c.Duration(flagTTL)
	if c.IsSet(flagTTL) && ttl <= 0 {
		return fmt.Errorf("invalid --ttl %s: want a positive duration such as 720h", ttl)
	}
	home, err := expandHome(c.String(flagHome))
	if err != nil {
		return err
	}
	a, err := auth.LoadHome(home)
	if err != nil {
		return err
	}
	token, err := a.IssueToken(allow, ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, token)
	return nil
}

// utilToken finds the token of a util command the way Lotus CLIs find theirs: --token, else the
// file --token-file names, else $VENUS_SECTOR_MANAGER_TOKEN, else <home>/token of the root
// --home. source says which, for errors; an empty token (none found) sends no Authorization
// header.
func utilToken(c *cli.Context) (token, source string, err error) {
	if c.IsSet(flagToken) && c.IsSet(flagTokenFile) {
		return "", "", fmt.Errorf("util --token and --token-file both given: pass one of them")
	}
	if t := strings.TrimSpace(c.String(flagToken)); t != "" {
		return t, "--token", nil
	}
	if path := c.String(flagTokenFile); path != "" {
		t, err := readTokenFile(path)
		return t, "--token-file " + path, err
	}
	if t := strings.TrimSpace(os.Getenv(auth.TokenEnv)); t != "" {
		return t, "$" + auth.TokenEnv, nil
	}
	home, err := expandHome(c.String(flagHome))
	if err != nil {
		if !c.IsSet(flagHome) {
			return "", "", nil // the default home, without a user home to put it in
		}
		return "", "", err
	}
	t, ok, err := auth.ReadTokenFile(home)
	if err != nil {
		return "", "", fmt.Errorf("%w (pass --token, or set %s)", err, auth.TokenEnv)
	}
	if !ok {
		return "", "", nil
	}
	return t, home + "/" + auth.TokenFile, nil
}

// readTokenFile reads the token of util --token-file: the file's content, spaces trimmed.
func readTokenFile(path string) (string, error) {
	path, err := expandHome(path)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("invalid util --token-file: %w", err)
	}
	t := strings.TrimSpace(string(raw))
	if t == "" {
		return "", fmt.Errorf("invalid util --token-file %s: the file is empty (write a token from auth create-token into it)", path)
	}
	return t, nil
}
