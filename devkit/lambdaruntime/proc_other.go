//go:build !linux

package lambdaruntime

import (
	"os/exec"
	"syscall"
)

// SetProcAttrs leaves children in the dev stack's process group where Pdeathsig does not
// exist, so Ctrl-C in the terminal stops them too.
func SetProcAttrs(cmd *exec.Cmd, deathSignal ...syscall.Signal) {}

// KillGroup kills a child started with SetProcAttrs.
func KillGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
