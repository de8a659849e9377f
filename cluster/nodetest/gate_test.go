package nodetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
	"github.com/squall-stream/squall/zkstore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	gproto "google.golang.org/protobuf/proto"
)

// gateRig is spout (task 2) on node A → sink (task 1) on node B, running
// until the test ends.
type gateRig struct {
	a, b          *cluster.Transport
	ids           *topologytest.Ledger
	seen, forged  atomic.Int64
	logsA, logsB  testinfra.Logs
	spoutTask     int
	sinkTask      int
	sinkPID       *actor.PID
	spoutPID      *actor.PID
	topologyName  string
	transportOpts func(host string) cluster.TransportOptions
	runA, runB    *actors.LocalTopology
}

func startGateRig(t *testing.T, hostA, hostB string, opts func(host string) cluster.TransportOptions) *gateRig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts two remote transports")
	}
	// More ids than a test emits: the spout never runs dry.
	ids := topologytest.NewLedger(math.MaxInt, idKey, func(id int) topology.Values { return topology.Values{int64(id), "k"} })
	r := &gateRig{ids: ids, spoutTask: 2, sinkTask: 1, topologyName: "gated", transportOpts: opts}
	oa, ob := opts(hostA), opts(hostB)
	oa.Logger = r.logsA.Logger()
	ob.Logger = r.logsB.Logger()
	r.a, r.b = startTransport(t, oa), startTransport(t, ob)
	declare := func(bl *topology.Builder) {
		bl.SetSpout("spout", r.ids.Spout, 1)
		// The sink counts what it executes, and the ids below zero, which
		// only a forger sends.
		bl.SetBolt("sink", topologytest.BasicFunc(nil, func(t *topology.Tuple, _ topology.BasicOutputCollector) error {
			r.seen.Add(1)
			if t.Int64ByField("id") < 0 {
				r.forged.Add(1)
			}
			return nil
		}), 1).ShuffleGrouping("spout")
	}
	conf := topology.Config{Name: r.topologyName, MessageTimeout: 2 * time.Second, Logger: r.logsB.Logger()}
	r.runA, r.runB = runOnBoth(t, r.a, r.b, declare, map[int]string{r.sinkTask: r.b.Addr, r.spoutTask: r.a.Addr}, conf)
	r.sinkPID = actor.NewPID(r.b.Addr, r.topologyName+"/sink-1")
	r.spoutPID = actor.NewPID(r.a.Addr, r.topologyName+"/spout-2")
	r.flowing(t, "the topology acking across the nodes")
	return r
}

// flowing waits until trees complete across the two nodes again.
func (r *gateRig) flowing(t *testing.T, what string) {
	t.Helper()
	from := r.ids.Acked()
	check.For(t, 20*time.Second, func() error {
		if n := r.ids.Acked() - from; n <= 1000 {
			return fmt.Errorf("%s: %d trees completed, want more than 1000", what, n)
		}
		return nil
	})
}

// frame is a tuple batch from the spout task to the sink with one tuple of
// id, as node A would send it.
func (r *gateRig) frame(t *testing.T, id int64) *proto.TupleFrame {
	t.Helper()
	vals, err := proto.EncodeValues([]any{id, "k"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gproto.Marshal(&proto.TupleBatch{Topology: r.topologyName, DestTask: int32(r.sinkTask), SenderTask: int32(r.spoutTask),
		Tuples: []*proto.Tuple{{Stream: topology.DefaultStream, SourceTask: int32(r.spoutTask), SourceComponent: "spout", Values: vals}}})
	if err != nil {
		t.Fatal(err)
	}
	return &proto.TupleFrame{Batch: raw}
}

// TestHostileMessagesLeaveTheNodeRunning: each message that crashed or
// stalled a node through protoactor remote is refused; the node logs it
// naming the peer, and its topology keeps acking.
func TestHostileMessagesLeaveTheNodeRunning(t *testing.T) {
	r := startGateRig(t, "127.0.0.1", "127.0.0.1", func(host string) cluster.TransportOptions {
		return cluster.TransportOptions{Listen: host + ":0"}
	})
	stop := testinfra.Batch(r.sinkPID, &actor.Stop{})
	poison := testinfra.Batch(r.sinkPID, &actor.PoisonPill{})
	watch := testinfra.Batch(r.sinkPID, &actor.Watch{Watcher: actor.NewPID("127.0.0.9:1", "x")})
	noTargets := testinfra.Batch(r.sinkPID, r.frame(t, -1))
	noTargets.Envelopes[0].Target, noTargets.Targets = 7, nil
	badType := testinfra.Batch(r.sinkPID, r.frame(t, -1))
	badType.Envelopes[0].TypeId = 3
	unknownType := testinfra.Batch(r.sinkPID, r.frame(t, -1))
	unknownType.TypeNames = []string{"squall.NoSuchMessage"}
	badSerializer := testinfra.Batch(r.sinkPID, r.frame(t, -1))
	badSerializer.Envelopes[0].SerializerId = 9
	unreadable := testinfra.Batch(r.sinkPID, r.frame(t, -1))
	unreadable.Envelopes[0].MessageData = []byte{0xff, 0xff, 0xff}
	elsewhere := testinfra.Batch(actor.NewPID("127.0.0.9:1", r.topologyName+"/sink-1"), r.frame(t, -1))
	hostile := map[string]*remote.MessageBatch{
		"Stop": stop, "PoisonPill": poison, "Watch": watch,
		"target index past an empty list": noTargets, "type index past the list": badType,
		"unknown type": unknownType, "unknown serializer": badSerializer, "unreadable message": unreadable,
		"message for another node":               elsewhere,
		"credit from a task that does not exist": testinfra.Batch(r.spoutPID, &proto.Credit{Topology: r.topologyName, FromTask: 100000, ToTask: int32(r.spoutTask), Batches: 1}),
		"credit of -1000000 batches":             testinfra.Batch(r.spoutPID, &proto.Credit{Topology: r.topologyName, FromTask: int32(r.sinkTask), ToTask: int32(r.spoutTask), Batches: -1000000}),
	}
	for name, batch := range hostile {
		target := r.b.Addr
		if batch == hostile["credit from a task that does not exist"] || batch == hostile["credit of -1000000 batches"] {
			target = r.a.Addr
		}
		// Claiming node B's address: on plaintext loopback nothing proves a
		// claim, so the runtime's placement checks are what is left.
		p, err := testinfra.DialPeer(target, r.b.Addr, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := p.Send(batch); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Closed(200 * time.Millisecond)
		p.Close()
		r.flowing(t, "the topology acking after "+name)
	}
	// protoactor remote's unary calls panic ("implement me") when served.
	conn, err := grpc.Dial(r.b.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := remote.NewRemotingClient(conn).ListProcesses(context.Background(), &remote.ListProcessesRequest{}); err == nil {
		t.Fatal("ListProcesses answered")
	}
	r.flowing(t, "the topology acking after a unary call")
	if n := r.forged.Load(); n != 0 {
		t.Fatalf("the sink executed %d tuples of hostile batches", n)
	}
	if m, _ := r.runA.Component("spout"); m.Errors != 2 {
		t.Errorf("the spout counted %d refused credits, want 2", m.Errors)
	}
	// Refusals are logged once per peer and reason a minute: the second
	// credit is counted, not logged.
	logs := r.logsA.String() + r.logsB.String()
	for _, want := range []string{`message type \"actor.Stop\"`, "target index 7 of 0 targets", "serializer 9", "unreadable message", `a target on \"127.0.0.9:1\"`, "unsupported call", "refused: credit"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the nodes' logs lack %q:\n%s", want, logs)
		}
	}
}

// testSecret is a cluster secret for tests.
var testSecret = []byte("a secret the test nodes share")

// TestClusterSecretKeepsOthersOut: nodes sharing a secret talk mutual TLS;
// a peer without it cannot connect, a member cannot claim another's
// address, and a member's forged tuples for tasks it does not run are
// refused.
func TestClusterSecretKeepsOthersOut(t *testing.T) {
	r := startGateRig(t, "127.0.0.2", "127.0.0.3", func(host string) cluster.TransportOptions {
		return cluster.TransportOptions{Listen: host + ":0", Secret: testSecret}
	})
	// No TLS at all, and TLS from another secret.
	if _, err := testinfra.DialPeer(r.b.Addr, r.a.Addr, nil); err == nil {
		t.Fatal("a plaintext peer connected to a node with a cluster secret")
	}
	other, err := cluster.SecretTLS([]byte("not the secret of this cluster"), "127.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testinfra.DialPeer(r.b.Addr, "127.0.0.4:1", other); err == nil {
		t.Fatal("a peer with another secret connected")
	}
	// A member at 127.0.0.4 claiming node A's address.
	member, err := cluster.SecretTLS(testSecret, "127.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := testinfra.DialPeer(r.b.Addr, r.a.Addr, member); err == nil {
		closed := p.Closed(5 * time.Second)
		p.Close()
		if !closed {
			t.Fatal("a member connected claiming another node's address")
		}
	}
	// The member as itself, forging the spout's tuples.
	p, err := testinfra.DialPeer(r.b.Addr, "127.0.0.4:1", member)
	if err != nil {
		t.Fatalf("a member could not connect as itself: %v", err)
	}
	defer p.Close()
	for range 5 {
		if err := p.SendMessage(r.sinkPID, r.frame(t, -1_000_000)); err != nil {
			t.Fatal(err)
		}
	}
	check.For(t, 10*time.Second, func() error {
		if !strings.Contains(r.logsB.String(), "a batch from task 2, which does not run there") {
			return errors.New("node B has not logged the forged batches refused")
		}
		return nil
	})
	r.flowing(t, "the topology acking after the forgeries")
	if n := r.forged.Load(); n != 0 {
		t.Fatalf("the sink executed %d forged tuples", n)
	}
	logs := r.logsB.String()
	for _, want := range []string{"TLS handshake of an incoming connection", "the peer's certificate is not for it", `"from":"127.0.0.4:1"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("node B's logs lack %q:\n%s", want, logs)
		}
	}
}

func TestTransportsOthersCanReachNeedTLSOrASecret(t *testing.T) {
	if _, err := cluster.StartTransport(cluster.TransportOptions{Listen: "0.0.0.0:0"}); !errors.Is(err, cluster.ErrInsecure) {
		t.Fatalf("a plaintext transport on 0.0.0.0: %v, want cluster.ErrInsecure", err)
	}
	if _, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0", Secret: []byte("short")}); !errors.Is(err, cluster.ErrWeakSecret) {
		t.Fatalf("a short secret: %v, want cluster.ErrWeakSecret", err)
	}
	if _, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0", Secret: testSecret, TLS: testTLS(t)}); err == nil {
		t.Fatal("a transport with both certificates and a secret started")
	}
}

// TestNodesOfAnotherTransportGetNoPlace: a node whose transport security
// differs from the live nodes' refuses to join; one that registered anyway
// (an older squall, or two started at once) is given no tasks.
func TestNodesOfAnotherTransportGetNoPlace(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerTestTopology()
	newTestIDs(1<<30, time.Minute)
	zkOpts := zkstore.Options{Servers: []string{z.Addr()}, SessionTimeout: 4 * time.Second}
	start := func(secret []byte) (*cluster.Node, error) {
		return cluster.StartNode(cluster.NodeOptions{ZK: zkOpts, Listen: "127.0.0.1:0", Secret: secret, Resync: 200 * time.Millisecond, Logger: quiet()})
	}
	node, err := start(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Stop)
	for name, secret := range map[string][]byte{"plaintext": nil, "another secret": []byte("the secret of another cluster")} {
		if other, err := start(secret); !errors.Is(err, cluster.ErrTransportMismatch) {
			if other != nil {
				other.Stop()
			}
			t.Fatalf("a %s node joined a cluster of secret nodes: %v", name, err)
		}
	}

	// A plaintext node that registered by itself.
	conn := z.Connect(t)
	info, _ := json.Marshal(cluster.NodeInfo{ID: "stranger", Addr: "127.0.0.9:1", Slots: 4, Started: time.Now()})
	if _, err := conn.Create("/squall/nodes/stranger", info, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	admin, err := cluster.NewAdmin(zkOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("cluster-test", cluster.SubmitOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	var nodes []string
	check.For(t, 20*time.Second, func() error {
		list, err := admin.List()
		if err != nil || len(list) != 1 || len(list[0].Nodes) == 0 {
			return fmt.Errorf("topologies %+v (%v), want one assigned", list, err)
		}
		nodes = list[0].Nodes
		return nil
	})
	if len(nodes) != 1 || nodes[0] != node.ID() {
		t.Fatalf("the topology was assigned to %v, want only %s", nodes, node.ID())
	}
}

// TestRecordsUnderAnotherNameAreNotRun: a topology record whose name is not
// its znode's (written by hand, or by an attacker with ZooKeeper access)
// would steer another topology's assignment; the leader leaves it alone.
func TestRecordsUnderAnotherNameAreNotRun(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerTestTopology()
	var logs testinfra.Logs
	node, err := cluster.StartNode(cluster.NodeOptions{ZK: zkstore.Options{Servers: []string{z.Addr()}}, Listen: "127.0.0.1:0", Resync: 100 * time.Millisecond, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Stop)
	rec, _ := json.Marshal(cluster.TopologyRecord{Name: "cluster-test", Status: cluster.StatusActive, Submitted: time.Now(), Version: 1})
	conn := z.Connect(t)
	if _, err := conn.Create("/squall/topologies/impostor", rec, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	check.For(t, 20*time.Second, func() error {
		if logs.Record("refused: a topology record of another name") == nil {
			return errors.New("the node has not logged the record refused")
		}
		return nil
	})
	if names, _, err := conn.Children("/squall/assignments"); err != nil || len(names) != 0 {
		t.Fatalf("assignments %v (%v), want none", names, err)
	}
}
