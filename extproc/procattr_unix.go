//go:build unix

package extproc

import (
	"os/exec"
	"syscall"
)

// detach puts the child in its own process group, so a Ctrl-C at the daemon's terminal reaches
// only the daemon, which then closes its children itself instead of watching them die and
// restarting them. A child whose daemon is gone still ends: its stdin reaches EOF.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
