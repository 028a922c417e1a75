package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/worker/admin"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
)

var workerCmd = &cli.Command{
	Name:  "worker",
	Usage: "manage the sealing threads of a running worker through its admin api",
	Flags: []cli.Flag{configFlag},
	Subcommands: []*cli.Command{
		{
			Name:   "list",
			Usage:  "list the sealing threads",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON document (README: \"JSON output\") instead of the lines"}},
			Action: listThreads,
		},
		{
			Name:  "pause",
			Usage: "pause a sealing thread",
			Flags: []cli.Flag{&cli.UintFlag{Name: "index", Aliases: []string{"i"}, Required: true, Usage: "thread index, as the list command shows it"}},
			Action: func(cctx *cli.Context) error {
				c, closer, err := adminClient(cctx)
				if err != nil {
					return err
				}
				defer closer()
				index := cctx.Uint("index")
				done, err := c.WorkerPause(background(cctx), uint64(index))
				if err != nil {
					return c.callError(err)
				}
				logging.Logger("worker").Infow(fmt.Sprintf("#%d worker pause", index), "done", done)
				return nil
			},
		},
		{
			Name:  "resume",
			Usage: "resume a paused sealing thread, optionally in another state",
			Flags: []cli.Flag{
				&cli.UintFlag{Name: "index", Aliases: []string{"i"}, Required: true, Usage: "thread index, as the list command shows it"},
				&cli.StringFlag{Name: "state", Aliases: []string{"s"}, Usage: "state to resume in, e.g. PC1Done or Aborted"},
			},
			Action: func(cctx *cli.Context) error {
				c, closer, err := adminClient(cctx)
				if err != nil {
					return err
				}
				defer closer()
				index := cctx.Uint("index")
				var state *string
				if cctx.IsSet("state") {
					s := cctx.String("state")
					state = &s
				}
				done, err := c.WorkerResume(background(cctx), uint64(index), state)
				if err != nil {
					return c.callError(err)
				}
				logging.Logger("worker").Infow(fmt.Sprintf("#%d worker resume", index), "done", done, "state", state)
				return nil
			},
		},
		{
			Name:   "drain",
			Usage:  "take this worker out of rotation: its threads finish the sector they hold and take no new one (kept across restarts)",
			Action: func(cctx *cli.Context) error { return setDrained(cctx, true) },
		},
		{
			Name:   "undrain",
			Usage:  "put this worker back in rotation: its empty threads take sectors again",
			Action: func(cctx *cli.Context) error { return setDrained(cctx, false) },
		},
		{
			Name:  "enable_dump",
			Usage: "dump the unparseable responses of an external processor into a directory",
			Flags: []cli.Flag{
				&cli.UintFlag{Name: "child_pid", Required: true, Usage: "pid of the external processor"},
				&cli.StringFlag{Name: "dump_dir", Required: true, Usage: "existing directory for the dump files"},
			},
			Action: func(cctx *cli.Context) error {
				dir, err := filepath.Abs(cctx.String("dump_dir"))
				if err == nil {
					dir, err = filepath.EvalSymlinks(dir)
				}
				if fi, statErr := os.Stat(dir); err != nil || statErr != nil || !fi.IsDir() {
					return fmt.Errorf("'%s' is not a directory", cctx.String("dump_dir"))
				}
				c, closer, err := adminClient(cctx)
				if err != nil {
					return err
				}
				defer closer()
				return c.envCallError(c.WorkerSetEnv(background(cctx), dumpEnvName(cctx.Uint("child_pid")), dir))
			},
		},
		{
			Name:  "disable_dump",
			Usage: "stop dumping the unparseable responses of an external processor",
			Flags: []cli.Flag{&cli.UintFlag{Name: "child_pid", Required: true, Usage: "pid of the external processor"}},
			Action: func(cctx *cli.Context) error {
				c, closer, err := adminClient(cctx)
				if err != nil {
					return err
				}
				defer closer()
				return c.envCallError(c.WorkerRemoveEnv(background(cctx), dumpEnvName(cctx.Uint("child_pid"))))
			},
		},
	},
}

func dumpEnvName(pid uint) string { return "DUMP_ERR_RESP_" + strconv.FormatUint(uint64(pid), 10) }

// adminConn is a client of one worker's admin api.
type adminConn struct {
	*api.WorkerAdminClient
	addr string
	// cfgPath is the config the token came from ("" when it has none).
	cfgPath string
}

// callError says plainly when the worker cannot be reached; errors the worker answered keep the
// original's "rpc error: ..." form.
func (c adminConn) callError(err error) error {
	if _, answered := api.ErrorCode(err); !answered {
		return fmt.Errorf("cannot reach the worker admin api at %s: is `venus-worker daemon` running with this config? (%v)", c.addr, err)
	}
	if api.IsPermissionDenied(err) {
		if c.cfgPath == "" {
			return fmt.Errorf("rpc error: %w (the config has no %s to send)", err, config.TokenKey)
		}
		return fmt.Errorf("rpc error: %w (the token sent is %s of %s; pause, resume and the dump commands need an admin token there, "+
			"or use `venus-sector-manager util worker` through the manager)", err, config.TokenKey, c.cfgPath)
	}
	return fmt.Errorf("rpc error: %w", err)
}

// envCallError reports invalid params with their message only, as the original does.
func (c adminConn) envCallError(err error) error {
	if err == nil {
		return nil
	}
	if code, ok := api.ErrorCode(err); ok && code == api.ErrCodeInvalidParams {
		return err
	}
	return c.callError(err)
}

func listThreads(cctx *cli.Context) error {
	c, closer, err := adminClient(cctx)
	if err != nil {
		return err
	}
	defer closer()
	threads, err := c.WorkerList(background(cctx))
	if err != nil {
		return c.callError(err)
	}
	if cctx.Bool("json") {
		progress, err := c.WorkerProgress(background(cctx))
		if err != nil {
			// A worker of the original has no progress: the document says null.
			fmt.Fprintf(cctx.App.ErrWriter, "worker progress unavailable, its fields are null: %v\n", err)
		}
		return api.WriteDoc(cctx.App.Writer, api.NewThreadsDoc(threads, progress, time.Now()))
	}
	for _, t := range threads {
		fmt.Fprintln(cctx.App.Writer, admin.FormatThreadLine(t))
	}
	return nil
}

// adminClient reads the config to find the worker's admin endpoint and the token to send
// (sector_manager.rpc_client.token, which the daemon also uses).
func adminClient(cctx *cli.Context) (adminConn, func(), error) {
	cfg, err := config.Load(cctx.String("config"))
	if err != nil {
		return adminConn{}, nil, err
	}
	addr := cfg.AdminDialAddr()
	token := cfg.SectorManager.Token
	c, closer, err := api.NewWorkerAdminClient(background(cctx), addr, api.AuthHeader(token))
	if err != nil {
		return adminConn{}, nil, fmt.Errorf("connect to worker admin api at %s: %w", addr, err)
	}
	conn := adminConn{WorkerAdminClient: c, addr: addr}
	if token != "" {
		conn.cfgPath = cctx.String("config")
	}
	return conn, func() { closer() }, nil
}

func setDrained(cctx *cli.Context, drained bool) error {
	c, closer, err := adminClient(cctx)
	if err != nil {
		return err
	}
	defer closer()
	changed, err := c.WorkerDrain(background(cctx), drained)
	if err != nil {
		return c.callError(err)
	}
	verb := map[bool]string{true: "drain", false: "undrain"}[drained]
	logging.Logger("worker").Infow("worker "+verb, "changed", changed)
	return nil
}
