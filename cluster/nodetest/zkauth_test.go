package nodetest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// A node with auth does not start under a root a cluster without auth made
// (anyone could submit what it would run) and starts once the root is
// secured; then an unauthenticated client cannot add a topology.
func TestNodeWithAuthRefusesAnOpenRootUntilSecured(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	before := zkstore.Options{Servers: []string{z.Addr()}}
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
	if node, err := start(); !errors.Is(err, zkstore.ErrOpenACL) || !strings.Contains(err.Error(), zkstore.DefaultRoot+" (world:anyone cdrwa)") {
		if err == nil {
			node.Stop()
		}
		t.Fatalf("node with auth under an open root: %v, want ErrOpenACL naming %s", err, zkstore.DefaultRoot)
	}
	if _, err := zkstore.SecureRoot(opts); err != nil {
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
	if _, err := anon.Create(zkstore.DefaultRoot+"/topologies/x", []byte(`{"name":"x","status":"active"}`), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated create of a topology: %v, want ErrNoAuth", err)
	}
}

// lentSpout keeps the ZooKeeper its node lent it; it emits nothing.
type lentSpout struct{}

// lentZK is what the last lentSpout opened was lent.
var (
	lentZK       atomic.Pointer[zkstore.Options]
	registerLent sync.Once
)

func (lentSpout) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(topology.NewFields("x")) }
func (lentSpout) Open(tc *topology.TopologyContext, _ topology.SpoutOutputCollector) error {
	if zk, ok := zkstore.ClusterOptions.From(tc); ok {
		lentZK.Store(&zk)
	}
	return nil
}
func (lentSpout) NextTuple()   {}
func (lentSpout) Ack(any)      {}
func (lentSpout) Fail(any)     {}
func (lentSpout) Close() error { return nil }

// A node lends its tasks the ZooKeeper it runs on, credentials included,
// so that a Kafka spout keeps its offsets there without being told; the
// connection a task opens logs as the task, not with the node's logger.
func TestNodeLendsItsTasksItsZooKeeper(t *testing.T) {
	registerLent.Do(func() {
		cluster.Register("lent-zk", func(map[string]string) (*topology.Topology, topology.Config, error) {
			b := topology.NewBuilder()
			b.SetSpout("spout", func() topology.Spout { return lentSpout{} }, 1)
			topo, err := b.Build()
			return topo, topology.Config{}, err
		})
	})
	lentZK.Store(nil)
	z := testinfra.StartZooKeeper(t)
	opts := zkstore.Options{Servers: []string{z.Addr()}, Root: "/lent", Auth: "ops:s3cret", SessionTimeout: 4 * time.Second}
	node, err := cluster.StartNode(cluster.NodeOptions{ZK: opts, Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Stop)
	admin, err := cluster.NewAdmin(opts)
	if err == nil {
		err = admin.Submit("lent-zk", cluster.SubmitOptions{})
		admin.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	check.For(t, 20*time.Second, func() error {
		if lentZK.Load() == nil {
			return errors.New("the spout task has not opened yet")
		}
		return nil
	})
	lent := *lentZK.Load()
	if strings.Join(lent.Servers, ",") != z.Addr() || lent.Root != opts.Root || lent.Auth != opts.Auth || lent.SessionTimeout != opts.SessionTimeout || lent.Logger != nil {
		t.Fatalf("lent %+v, want the node's %+v without its logger", lent, opts)
	}
	o, err := zkstore.OpenOffsets(lent)
	if err != nil {
		t.Fatalf("offsets with the ZooKeeper lent: %v", err)
	}
	o.Close()
}
