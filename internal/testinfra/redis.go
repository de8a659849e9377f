package testinfra

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server child process on a free port.
type Redis struct {
	srv  *server
	port int
}

// StartRedis starts redis-server without persistence and waits until it
// answers PING.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	return startRedis(t, "--appendonly", "no")
}

// StartPersistentRedis starts redis-server with an append-only file synced
// on every write, so its data survives Stop and Start as a production
// server's would.
func StartPersistentRedis(t testing.TB) *Redis {
	t.Helper()
	return startRedis(t, "--appendonly", "yes", "--appendfsync", "always")
}

func startRedis(t testing.TB, persistence ...string) *Redis {
	t.Helper()
	skipShort(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	args := append([]string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir}, persistence...)
	r := &Redis{port: port, srv: newServer(t, "redis", dir, args...)}
	r.Start()
	return r
}

// Addr is the host:port to connect to.
func (r *Redis) Addr() string { return addr(r.port) }

// Start starts the server again on the same port after Stop; its data is
// gone unless it was started with StartPersistentRedis.
func (r *Redis) Start() {
	r.srv.t.Helper()
	r.srv.start()
	r.srv.waitUntil(10*time.Second, r.ping)
}

// Stop kills the server.
func (r *Redis) Stop() { r.srv.Stop() }

func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return notReady("PING answered %q", line)
	}
	return nil
}
