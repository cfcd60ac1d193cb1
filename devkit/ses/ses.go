// Package ses runs aws-ses-v2-local (npm, pinned in package.json): an SES v2 endpoint whose
// page at / shows every email and whose GET /store lists them as JSON.
package ses

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
)

// Process is a running aws-ses-v2-local.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs root/node_modules/.bin/aws-ses-v2-local on addr (a concrete host:port) and
// waits until it answers; its output goes to out.
func Start(root, addr string, out io.Writer) (*Process, error) {
	bin := filepath.Join(root, "node_modules", ".bin", "aws-ses-v2-local")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s is missing: run `npm ci` in %s", bin, root)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--host", host, "--port", port)
	cmd.Dir = root
	cmd.Stdout = out
	cmd.Stderr = out
	lambdaruntime.SetProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-ses-v2-local: %w", err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		if f, ok := out.(interface{ Flush() }); ok {
			f.Flush()
		}
		close(p.exited)
	}()
	url := "http://" + addr + "/health-check"
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("aws-ses-v2-local exited during start-up (is %s free?)", addr)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return nil, fmt.Errorf("aws-ses-v2-local did not answer on %s within 20s", addr)
}

// Stop kills the process.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	lambdaruntime.StopChild(p.cmd, p.exited)
}
