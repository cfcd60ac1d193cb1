package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// sesProcess is aws-ses-v2-local (npm, pinned in package.json): an SES v2 endpoint whose
// page at / shows every email and whose GET /store lists them as JSON.
type sesProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startSES runs node_modules/.bin/aws-ses-v2-local on addr and waits until it answers.
func startSES(root, addr string, sink *logSink) (*sesProcess, error) {
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
	w := sink.writer("ses")
	cmd.Stdout = w
	cmd.Stderr = w
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-ses-v2-local: %w", err)
	}
	p := &sesProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		w.Flush()
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
	p.stop()
	return nil, fmt.Errorf("aws-ses-v2-local did not answer on %s within 20s", addr)
}

func (p *sesProcess) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}
