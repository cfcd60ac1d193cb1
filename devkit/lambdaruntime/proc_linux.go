package lambdaruntime

import (
	"os/exec"
	"syscall"
)

// SetProcAttrs puts a child in its own process group, so Ctrl-C reaches only the dev stack,
// which then stops its children itself, and has the kernel send the child deathSignal
// (SIGKILL when none is given) if the dev stack dies without cleaning up.
func SetProcAttrs(cmd *exec.Cmd, deathSignal ...syscall.Signal) {
	sig := syscall.SIGKILL
	if len(deathSignal) > 0 {
		sig = deathSignal[0]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}

// KillGroup kills a child started with SetProcAttrs and every process of its group.
func KillGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
	}
}
