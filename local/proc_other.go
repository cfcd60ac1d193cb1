//go:build !linux

package main

import "os/exec"

// setProcAttrs leaves children in the dev stack's process group where Pdeathsig does not exist,
// so Ctrl-C in the terminal stops them too.
func setProcAttrs(cmd *exec.Cmd) {}
