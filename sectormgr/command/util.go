package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/urfave/cli/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/auth"
)

// now is the CLI's clock (tests replace it).
var now = time.Now

const flagListen = "listen"

// utilCommand holds the operator's tools. They need only a running manager (mock or daemon):
// no config file and no chain node.
func utilCommand() *cli.Command {
	return &cli.Command{
		Name:  "util",
		Usage: "operate a running manager: its workers and its sectors",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagListen, Value: fmt.Sprintf(":%d", api.DefaultManagerPort),
				Usage: "address of the manager's rpc server (host:port; an empty or 0.0.0.0 host means 127.0.0.1)"},
			&cli.StringFlag{Name: flagToken, Usage: "token for a manager with auth (default: the file of --token-file, else $" + auth.TokenEnv +
				", else the token file of the root --home, e.g. venus-sector-manager --home <home> util ...)"},
			&cli.StringFlag{Name: flagTokenFile, Usage: "read the token from this file (it stays out of the process list and the shell history)"},
		},
		Subcommands: []*cli.Command{
			utilWorkerCommand(),
			utilSealerCommand(),
		},
	}
}

// managerAddr resolves util --listen as the original does: a missing or unspecified host is the
// local host.
func managerAddr(listen string) (string, error) {
	addr, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return "", fmt.Errorf("invalid util --listen %q: %w (want host:port, e.g. 127.0.0.1:1789)", listen, err)
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		addr.IP = net.IPv4(127, 0, 0, 1)
	}
	return addr.String(), nil
}

// managerConn is a client of the manager a util command talks to.
type managerConn struct {
	*api.ManagerClient
	addr string
	// tokenSource names where the token came from ("" when none was found).
	tokenSource string
}

// withManager runs fn with a client of util --listen (HTTP POST to /rpc/v0; nothing is sent until
// the first call).
func withManager(c *cli.Context, fn func(m *managerConn) error) error {
	addr, err := managerAddr(c.String(flagListen))
	if err != nil {
		return err
	}
	token, source, err := utilToken(c)
	if err != nil {
		return err
	}
	client, closer, err := api.NewManagerClient(c.Context, "http://"+addr+api.ManagerRPCPath, api.AuthHeader(token))
	if err != nil {
		return fmt.Errorf("venus-sector-manager client for %s: %w", addr, err)
	}
	defer closer()
	return fn(&managerConn{ManagerClient: client, addr: addr, tokenSource: source})
}

// explain turns the error of a call into one line an operator can act on: the manager is not
// there (which address, what to do), or the manager (or the worker behind it) refused the call.
func (m *managerConn) explain(method string, err error) error {
	if err == nil {
		return nil
	}
	if api.IsPermissionDenied(err) {
		return fmt.Errorf("rpc %s: %s (%s)", method, rpcErrMessage(err), m.tokenHint())
	}
	var rpcErr *jsonrpc.JSONRPCError
	if errors.As(err, &rpcErr) {
		return fmt.Errorf("rpc %s: %s", method, rpcErr.Message)
	}
	var coded *api.CodedError
	if errors.As(err, &coded) {
		return fmt.Errorf("rpc %s: %s", method, coded.Message)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("venus-sector-manager at %s did not answer %s within %s", m.addr, method, api.CallTimeout)
	}
	var connErr *jsonrpc.RPCConnectionError
	if errors.As(err, &connErr) {
		cause := connErr.Unwrap()
		var urlErr *url.Error
		if errors.As(cause, &urlErr) {
			cause = urlErr.Err
		}
		return fmt.Errorf("cannot reach venus-sector-manager at %s (%v): start it (venus-sector-manager mock or daemon run) or point util --listen at it", m.addr, cause)
	}
	return fmt.Errorf("rpc %s to venus-sector-manager at %s: %w", method, m.addr, err)
}

func rpcErrMessage(err error) string {
	var rpcErr *jsonrpc.JSONRPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Message
	}
	var coded *api.CodedError
	if errors.As(err, &coded) {
		return coded.Message
	}
	return err.Error()
}

// tokenHint says which token the refused call carried and how to pass another.
func (m *managerConn) tokenHint() string {
	if m.tokenSource == "" {
		return "no token was sent: pass --token, set " + auth.TokenEnv + ", or name the manager's home: venus-sector-manager --home <home> util ..."
	}
	return "token from " + m.tokenSource + "; create one with the permission needed: venus-sector-manager --home <home> auth create-token --perm <read|write|admin>"
}

// needArgs prints the command's help when fewer than n arguments are given; the original
// returns no error then, so the exit status is 0.
func needArgs(c *cli.Context, n int) bool {
	if c.NArg() >= n {
		return true
	}
	_ = cli.ShowSubcommandHelp(c)
	return false
}

// cliLogger writes the INFO lines of util commands (e.g. "pause call done, ok = true") to the
// command's stderr, in the console format of every other log line.
func cliLogger(c *cli.Context) *zap.SugaredLogger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	var w io.Writer = c.App.ErrWriter
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel)
	return zap.New(core).Named("cmd").Sugar()
}

// parseActor accepts a miner actor id as a number (10000) or an ID address (t010000, f010000).
func parseActor(s string) (abi.ActorID, error) {
	digits := s
	if len(s) > 2 && (strings.HasPrefix(s, "t0") || strings.HasPrefix(s, "f0")) {
		digits = s[2:]
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid miner %q: want an actor id such as 10000 or t010000", s)
	}
	return abi.ActorID(id), nil
}

// parseSectorID reads the <miner> <number> arguments of the sector commands.
func parseSectorID(c *cli.Context) (abi.SectorID, error) {
	miner, err := parseActor(c.Args().Get(0))
	if err != nil {
		return abi.SectorID{}, err
	}
	num, err := strconv.ParseUint(c.Args().Get(1), 10, 64)
	if err != nil {
		return abi.SectorID{}, fmt.Errorf("invalid sector number %q: want a number such as 3", c.Args().Get(1))
	}
	return abi.SectorID{Miner: miner, Number: abi.SectorNumber(num)}, nil
}
