package nodetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/testinfra"
)

// A node with auth does not start under a root a cluster without auth made
// (anyone could submit what it would run) and starts once the root is
// secured; then an unauthenticated client cannot add a topology.
func TestNodeWithAuthRefusesAnOpenRootUntilSecured(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	before := cluster.ZKOptions{Servers: []string{z.Addr()}}
	old, err := cluster.NewAdmin(before)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	opts := before
	opts.Auth = "ops:s3cret"
	start := func() (*cluster.Node, error) {
		return cluster.StartNode(cluster.NodeOptions{ZK: opts, Listen: "127.0.0.1:0", Logger: quiet()})
	}
	if node, err := start(); !errors.Is(err, cluster.ErrOpenACL) || !strings.Contains(err.Error(), cluster.DefaultRoot+" (world:anyone cdrwa)") {
		if err == nil {
			node.Stop()
		}
		t.Fatalf("node with auth under an open root: %v, want ErrOpenACL naming %s", err, cluster.DefaultRoot)
	}
	if _, err := cluster.SecureRoot(opts); err != nil {
		t.Fatal(err)
	}
	node, err := start()
	if err != nil {
		t.Fatalf("node with auth after SecureRoot: %v", err)
	}
	t.Cleanup(node.Stop)

	anon, _, err := zk.Connect([]string{z.Addr()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Create(cluster.DefaultRoot+"/topologies/x", []byte(`{"name":"x","status":"active"}`), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated create of a topology: %v, want ErrNoAuth", err)
	}
}
