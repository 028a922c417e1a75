// Package extproc runs a processor stage in a child process speaking the vc-processors "ext"
// protocol (spec/worker.md §9.3): JSON lines over the child's stdin and stdout. The producer is the
// parent's side (it spawns, supervises and calls children: the worker's stages, the manager's
// ext provers); Serve is the child's side.
package extproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
)

// NUMAPreferredEnv carries a child's preferred NUMA node ([[processors.<stage>]] numa_preferred).
const NUMAPreferredEnv = "VENUS_WORKER_NUMA_PREFERRED"

// DumpEnvPrefix + <child pid> names the daemon env var holding the directory where unparseable
// responses of that child are dumped (set by `worker enable_dump`).
const DumpEnvPrefix = "DUMP_ERR_RESP_"

// ErrChildExited is wrapped by the error of every request pending on a child that exited.
var ErrChildExited = errors.New("child process exited")

// errOutputLost is a response with neither err_msg nor output.
var errOutputLost = errors.New("output field lost")

// logPreviewLen is how much of an unparseable line the log shows.
const logPreviewLen = 100

var log = logging.Logger("ext-processor")

// ReadyLine is the first line a child prints once it can take requests.
func ReadyLine(stage string) string { return stage + " processor ready" }

// request is one task sent to a child; ids start at 0 per child process.
type request struct {
	ID   uint64          `json:"id"`
	Task json.RawMessage `json:"task"`
}

// response answers the request of the same id: err_msg set means failure, else output holds the
// result. Both keys are always written, null when unused.
type response struct {
	ID     uint64          `json:"id"`
	ErrMsg *string         `json:"err_msg"`
	Output json.RawMessage `json:"output"`
}

// parseResponse reads one response line; ok is false when the line is not a response at all.
func parseResponse(line []byte) (id uint64, output json.RawMessage, callErr error, ok bool) {
	var r struct {
		ID     *uint64         `json:"id"`
		ErrMsg *string         `json:"err_msg"`
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(line, &r); err != nil || r.ID == nil {
		return 0, nil, nil, false
	}
	switch {
	case r.ErrMsg != nil:
		return *r.ID, nil, errors.New(*r.ErrMsg), true
	case len(r.Output) == 0 || bytes.Equal(r.Output, []byte("null")):
		return *r.ID, nil, errOutputLost, true
	default:
		return *r.ID, r.Output, nil, true
	}
}

// dumpUnparseable records a response line the parent could not read: in a file when
// DUMP_ERR_RESP_<pid> names a directory in the daemon's environment, else in the log.
func dumpUnparseable(stage string, pid int, line []byte) {
	dir := os.Getenv(DumpEnvPrefix + strconv.Itoa(pid))
	if dir == "" {
		log.Warnw("unparseable response skipped", "stage", stage, "pid", pid, "line", preview(line))
		return
	}
	path, err := writeDump(dir, pid, line)
	if err != nil {
		log.Errorw("unparseable response skipped; dumping it failed", "stage", stage, "pid", pid, "line", preview(line), "err", err)
		return
	}
	log.Warnw("unparseable response skipped and dumped", "stage", stage, "pid", pid, "file", path)
}

func writeDump(dir string, pid int, line []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create dump dir: %w", err)
	}
	name := fmt.Sprintf("ext-processor-err-resp-%d-%s.json", pid, strings.ReplaceAll(uuid.NewString(), "-", ""))
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, line, 0o644)
}

// preview is the first logPreviewLen bytes of line, cut back to a character boundary, then "...".
func preview(line []byte) string {
	n := min(len(line), logPreviewLen)
	for n > 0 && n < len(line) && !utf8.RuneStart(line[n]) {
		n--
	}
	return string(line[:n]) + "..."
}
