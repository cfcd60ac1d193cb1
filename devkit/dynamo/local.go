package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/lambdaruntime"
)

// JarDir is where the Makefile unpacks Amazon DynamoDB Local (from the npm package
// amplify-dynamodb-simulator, pinned by version and checksum), relative to the repository root.
const JarDir = "node_modules/amplify-dynamodb-simulator/emulator"

// ErrNoJava says DynamoDB Local cannot run here: no Java 17+ on PATH.
var ErrNoJava = errors.New("no Java 17+ on PATH")

// Local is a running Amazon DynamoDB Local process.
type Local struct {
	URL     string
	Version string
	DBPath  string // "" in memory
	cmd     *exec.Cmd
	exited  chan struct{}
}

// JavaVersion is the major version of the `java` on PATH, or ErrNoJava.
func JavaVersion() (int, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return 0, ErrNoJava
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w (java -version: %v)", ErrNoJava, err)
	}
	m := regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%w (cannot read %q)", ErrNoJava, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major == 1 && len(m[2]) > 0 { // 1.8 is Java 8
		major, _ = strconv.Atoi(string(m[2]))
	}
	if major < 17 {
		return major, fmt.Errorf("%w (java is version %d)", ErrNoJava, major)
	}
	return major, nil
}

// StartLocal runs DynamoDB Local from jarDir on addr (host:port; port 0 picks one), keeping
// its database in dbPath (-sharedDb: one database whatever the credentials and region), or
// in memory when dbPath is "". It returns once the engine answers. DynamoDB Local listens on
// every interface of the machine: it has no option to bind one address.
func StartLocal(jarDir, addr, dbPath string, sink *devlog.Sink) (*Local, error) {
	if _, err := JavaVersion(); err != nil {
		return nil, err
	}
	var err error
	if jarDir, err = filepath.Abs(jarDir); err != nil { // the process runs in another folder
		return nil, err
	}
	if dbPath != "" {
		if dbPath, err = filepath.Abs(dbPath); err != nil {
			return nil, err
		}
	}
	jar := filepath.Join(jarDir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("%w: run `make dynamodb-local` (it unpacks the pinned amplify-dynamodb-simulator package)", err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if port == "0" {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	} else if ln, err := net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("dynamodb: %w (set another address with -dynamodb-addr or DEV_DYNAMODB_ADDR)", err)
	} else {
		ln.Close()
	}
	args := []string{"-Djava.library.path=" + filepath.Join(jarDir, "DynamoDBLocal_lib"), "-XX:+UseSerialGC", "-Xshare:auto",
		"-jar", jar, "-port", port, "-sharedDb", "-disableTelemetry"}
	if dbPath == "" {
		args = append(args, "-inMemory")
	} else {
		if err := os.MkdirAll(dbPath, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", dbPath)
	}
	cmd := exec.Command("java", args...)
	// DynamoDB Local writes dynamodb-local-metadata.json where it runs: beside its database,
	// or in a folder of its own when it keeps the database in memory.
	workDir := dbPath
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "dynamodb-local-"); err != nil {
			return nil, err
		}
	}
	cmd.Dir = workDir
	w := sink.Writer("dynamodb")
	vw := &versionWriter{w: w}
	cmd.Stdout, cmd.Stderr = vw, w
	// DynamoDB Local 1.25 acknowledges a TransactWriteItems before its database file has it:
	// SIGKILL loses the last transaction, SIGTERM (its shutdown) keeps it. So it stops with
	// SIGTERM, and gets SIGTERM too if the stack itself is killed.
	lambdaruntime.SetProcAttrs(cmd, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	l := &Local{URL: "http://" + net.JoinHostPort(host, port), DBPath: dbPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		w.Flush()
		if dbPath == "" {
			_ = os.RemoveAll(workDir)
		}
		close(l.exited)
	}()
	c := &Client{Endpoint: l.URL}
	// A JVM starting beside other test binaries on a busy machine can take long over its first
	// request (it loads its native SQLite library and warms up then): each probe waits up to
	// 10 s rather than abandoning that first request and queueing another behind it.
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Call(ctx, "DynamoDB_20120810.ListTables", map[string]any{}, nil)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-l.exited:
			return nil, fmt.Errorf("DynamoDB Local exited during start-up (is port %s free?)", port)
		default:
		}
		if time.Now().After(deadline) {
			l.Close()
			return nil, fmt.Errorf("DynamoDB Local did not answer on %s within %s", l.URL, startTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	l.Version = vw.version()
	return l, nil
}

// startTimeout is how long Start waits for DynamoDB Local to answer its first request.
const startTimeout = 120 * time.Second

// Name says which engine this is, for the banner.
func (l *Local) Name() string {
	where := "in memory"
	if l.DBPath != "" {
		where = "durable in " + l.DBPath
	}
	return fmt.Sprintf("Amazon DynamoDB Local %s (%s)", l.Version, where)
}

// Close stops the process with SIGTERM, which lets DynamoDB Local write its last
// transaction to its database file, and kills it if it has not stopped within 10 seconds.
func (l *Local) Close() {
	if l == nil || l.cmd.Process == nil {
		return
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
		return
	case <-time.After(10 * time.Second):
	}
	_ = l.cmd.Process.Kill()
	<-l.exited
}

// versionWriter passes DynamoDB Local's start-up lines on and notes its "Version:" line.
type versionWriter struct {
	w   io.Writer
	mu  sync.Mutex
	buf []byte
	v   string
}

func (v *versionWriter) Write(p []byte) (int, error) {
	v.mu.Lock()
	if v.v == "" && len(v.buf) < 4096 {
		v.buf = append(v.buf, p...)
		if m := regexp.MustCompile(`Version:\s*(\S+)`).FindSubmatch(v.buf); m != nil {
			v.v = string(m[1])
		}
	}
	v.mu.Unlock()
	return v.w.Write(p)
}

func (v *versionWriter) version() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.v
}
