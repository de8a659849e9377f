package testinfra

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server is a child process that can be stopped and started again with the
// same command line.
type server struct {
	t    testing.TB
	name string
	args []string
	dir  string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited and been reaped
}

func newServer(t testing.TB, name string, dir string, args ...string) *server {
	s := &server{t: t, name: name, args: args, dir: dir, log: filepath.Join(dir, name+".log")}
	t.Cleanup(s.Stop)
	return s
}

// start runs the process in its own process group, logging to a file.
func (s *server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		select {
		case <-s.done: // it died on its own: start it again
		default:
			return
		}
	}
	if _, err := exec.LookPath(s.args[0]); err != nil {
		s.t.Fatalf("%s: %v; run `make deps` to install the test servers", s.name, err)
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("%s: log file: %v", s.name, err)
	}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("%s: start: %v", s.name, err)
	}
	logf.Close()
	s.cmd = cmd
	// Reap the child as soon as it exits, so a server that dies at start
	// fails the readiness wait at once instead of at its deadline.
	done := make(chan struct{})
	s.done = done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
}

// Stop kills the process (and its group) by PID and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done: // exited and reaped already: its PID may belong to someone else now
	default:
		// The group: ZooKeeper's JVM has no children, but be sure.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// logTail returns the end of the server's log for failure messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// waitUntil polls ready until it succeeds or the deadline passes; then it
// fails the test with the server's log.
func (s *server) waitUntil(d time.Duration, ready func() error) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = ready(); err == nil {
			return
		}
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case <-done:
			s.t.Fatalf("%s exited before serving: %v\n--- log ---\n%s", s.name, err, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.t.Fatalf("%s did not serve within %v: %v\n--- log ---\n%s", s.name, d, err, s.logTail())
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// skipShort skips tests that need servers under -short.
func skipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s; skipped under -short", what)
	}
}

// errNotReady is what readiness probes return while a server starts.
var errNotReady = errors.New("not ready")

func notReady(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNotReady, fmt.Sprintf(format, args...))
}
