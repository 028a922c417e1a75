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
	flagPerm                     = "perm"
)

// managerAuth sets up token auth for a manager with a home: the secret and the admin token file
// in the home, the server's verifier, and the manager's own admin token, which it sends to
// workers when it proxies util worker calls. Without a home the manager is open and ownToken is "".
func managerAuth(c *cli.Context, home string) (opts []server.Option, ownToken string, err error) {
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
	ownToken, err = a.CreateToken(api.AllowFor(api.PermAdmin))
	if err != nil {
		return nil, "", err
	}
	var defaults []api.Permission
	if allowTokenless {
		defaults = []api.Permission{api.PermWrite}
		log.Warnw("workers' sealing calls are accepted without a token (--" + flagAllowWorkersWithoutToken + "); give every worker a token and drop the flag")
	}
	log.Infow("token auth on: util commands find the admin token in the home", "token", home+"/"+auth.TokenFile)
	return []server.Option{server.WithAuth(a.Verify, defaults...)}, ownToken, nil
}

func authCommand() *cli.Command {
	return &cli.Command{
		Name:  "auth",
		Usage: "tokens for the manager's api (the secret is in the manager's home)",
		Subcommands: []*cli.Command{{
			Name:  "create-token",
			Usage: "print a new token: read (listings), write (a worker's sealing calls; implies read) or admin (pause, resume, remove, restore; implies write)",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: flagPerm, Required: true, Usage: "read, write or admin"},
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
	home, err := expandHome(c.String(flagHome))
	if err != nil {
		return err
	}
	a, err := auth.LoadHome(home)
	if err != nil {
		return err
	}
	token, err := a.CreateToken(allow)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, token)
	return nil
}

// utilToken finds the token of a util command the way Lotus CLIs find theirs: --token, else
// $VENUS_SECTOR_MANAGER_TOKEN, else <home>/token of the root --home. source says which, for
// errors; an empty token (none found) sends no Authorization header.
func utilToken(c *cli.Context) (token, source string, err error) {
	if t := strings.TrimSpace(c.String(flagToken)); t != "" {
		return t, "--token", nil
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
