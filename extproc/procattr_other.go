//go:build !unix

package extproc

import "os/exec"

func detach(*exec.Cmd) {}
