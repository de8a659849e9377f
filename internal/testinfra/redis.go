package testinfra

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server child process on a free port, without persistence.
type Redis struct {
	srv  *server
	port int
}

// StartRedis starts redis-server and waits until it answers PING.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	skipShort(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	r := &Redis{port: port, srv: newServer(t, "redis", dir,
		"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)}
	r.Start()
	return r
}

// Addr is the host:port to connect to.
func (r *Redis) Addr() string { return addr(r.port) }

// Start starts the server again on the same port after Stop; its data is
// gone, as after a real restart without persistence.
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
