package lambdaruntime

import (
	"os/exec"
	"syscall"
)

// SetProcAttrs puts a child in its own process group, so Ctrl-C reaches only the dev stack,
// which then saves state and stops its children itself, and kills the child if the dev
// stack dies without cleaning up.
func SetProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
