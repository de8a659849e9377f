package testinfra

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZooKeeper jars from Debian's zookeeper package.
const (
	zkJar    = "/usr/share/java/zookeeper.jar"
	slf4jNop = "/usr/share/java/slf4j-nop.jar"
)

// ZooKeeper is a standalone ZooKeeper server, a JVM child process on a free
// port with its data in the test's temp dir.
type ZooKeeper struct {
	srv  *server
	port int
}

// StartZooKeeper starts ZooKeeper and waits until it reports its mode.
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	skipShort(t, "ZooKeeper")
	if _, err := os.Stat(zkJar); err != nil {
		t.Fatalf("ZooKeeper: %v; run `make deps` to install the test servers", err)
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`tickTime=500
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
maxSessionTimeout=60000
`, filepath.Join(dir, "data"), port)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	z := &ZooKeeper{port: port, srv: newServer(t, "zookeeper", dir,
		"java", "-Xmx256m", "-cp", dir+":"+zkJar+":"+slf4jNop,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(dir, "zoo.cfg"))}
	z.Start()
	return z
}

// Addr is the host:port to connect to.
func (z *ZooKeeper) Addr() string { return addr(z.port) }

// Start starts the server again on the same port and data dir after Stop,
// so its znodes (but not its sessions' ephemerals) survive.
func (z *ZooKeeper) Start() {
	z.srv.t.Helper()
	z.srv.start()
	z.srv.waitUntil(30*time.Second, z.srvr)
}

// Stop kills the server.
func (z *ZooKeeper) Stop() { z.srv.Stop() }

// Connect opens a client session of the test's own, without credentials,
// closed when the test ends: to look at znodes as they are, past squall.
func (z *ZooKeeper) Connect(t testing.TB) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{z.Addr()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatalf("ZooKeeper client: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// srvr asks the srvr four-letter word, which names the mode once serving.
func (z *ZooKeeper) srvr() error {
	c, err := net.DialTimeout("tcp", z.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), "Mode:") {
		return notReady("srvr answered %q", out)
	}
	return nil
}
