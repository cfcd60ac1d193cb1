package lambdaruntime

import (
	"os/exec"
	"time"
)

// StopChild kills a child the dev stack started (only that process, by its handle) and waits
// up to 5 s for exited, which the caller closes when cmd.Wait returns.
func StopChild(cmd *exec.Cmd, exited <-chan struct{}) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}
