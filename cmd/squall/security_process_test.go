package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
	gproto "google.golang.org/protobuf/proto"
)

// The attacks of the transport security issue, replayed against `squall
// node` processes of a cluster authenticated by a secret, running the order
// analysis: what reaches a node from outside must neither change what Redis
// counts, nor stop the node, nor stall the topology.

// attackerAddr is where the "member" attacker, which holds the cluster
// secret but runs no task, claims to be: its own address.
const attackerAddr = "127.0.0.9:7000"

// attackRig is a secret cluster of three node processes running the order
// analysis while orders keep arriving, and what an attacker needs to know
// of it: where each task runs.
type attackRig struct {
	*ordersCluster
	secret []byte
	nodes  map[string]*squallProcess // by transport address
	zk     *zk.Conn
	topo   *topology.Topology // as the nodes built it: the task numbers
	asg    cluster.Assignment // where each task runs
	keys   orders.Keys
	tp     *throughput
	rate   float64 // orders/s the topology counted before the attacks
}

// startAttackRig starts the cluster and waits until the topology counts
// the orders produced at pace a second. The orders keep coming until
// stopOrders; the truth is whole once it returned.
func startAttackRig(t *testing.T, pace int) (r *attackRig, stopOrders func()) {
	t.Helper()
	r = &attackRig{
		ordersCluster: startOrdersCluster(t, 1000),
		secret:        []byte("the cluster secret of the attack tests"),
		nodes:         map[string]*squallProcess{},
		keys:          orders.Keys{Prefix: orders.DefaultPrefix},
		tp:            &throughput{},
	}
	secretFile := filepath.Join(t.TempDir(), "cluster-secret")
	if err := os.WriteFile(secretFile, append(bytes.Clone(r.secret), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		p := startSquall(t, r.bin, listening, "node", "--zk", r.z.Addr(), "--listen", host+":0", "--zk-session-timeout", "3s",
			"--cluster-secret-file", secretFile)
		r.nodes[p.addr] = p
	}
	waitForNodes(t, r.bin, r.z.Addr(), 3)
	r.submit(t)
	stopOrders = paceOrders(t, r.k.Brokers(), r.truth, pace)

	var err error
	if r.zk, _, err = zk.Connect([]string{r.z.Addr()}, 5*time.Second, zk.WithLogInfo(false)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.zk.Close)
	var rec cluster.TopologyRecord
	data, _, err := r.zk.Get(zkstore.DefaultRoot + "/topologies/orders")
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		t.Fatalf("the submitted topology's record: %v", err)
	}
	if r.topo, _, err = ordersAnalysis(rec.Settings); err != nil {
		t.Fatal(err)
	}
	check.For(t, 30*time.Second, func() error {
		if !r.assignment() {
			return errors.New("the order analysis not assigned")
		}
		if len(r.asg.Tasks) != r.topo.NumTasks() || len(r.asg.NodesUsed()) != 3 {
			return fmt.Errorf("%d of %d tasks of the order analysis assigned, to %v; want all, to three nodes", len(r.asg.Tasks), r.topo.NumTasks(), r.asg.NodesUsed())
		}
		return nil
	})

	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go r.tp.run(ctx, r.rc, r.keys.Totals())
	check.For(t, 60*time.Second, func() error {
		if r.rate = r.tp.rate(time.Now(), time.Second); r.rate < float64(pace)/2 {
			return fmt.Errorf("the topology counts %.0f orders/s, want half the pace of %d", r.rate, pace)
		}
		return nil
	})
	return r, stopOrders
}

// paceOrders produces order lines (1% garbage) to topic "orders" at pace
// a second, adding them to truth, until the returned function is called;
// it returns once the last line is in the broker. Orders keep arriving for
// as long as the attacks take, so that the throughput after each one can
// be told from the end of the input.
func paceOrders(t *testing.T, brokers []string, truth *orders.Truth, pace int) func() {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(brokers, conf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Seed 12: other order ids than fillOrders' seed 11, counted once each.
		_, err := orders.WriteOrders(ctx, &lineProducer{p: p}, orders.LogOptions{Rate: pace, Malformed: 0.01, Seed: 12, Truth: truth})
		done <- errors.Join(err, p.Close())
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("producing orders: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// lineProducer produces each line written to it as a record of topic
// "orders", waiting for the broker's acknowledgement.
type lineProducer struct {
	p       sarama.SyncProducer
	partial []byte
}

func (w *lineProducer) Write(b []byte) (int, error) {
	data := append(w.partial, b...)
	var msgs []*sarama.ProducerMessage
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		msgs = append(msgs, &sarama.ProducerMessage{Topic: "orders", Value: sarama.ByteEncoder(bytes.Clone(data[:i]))})
		data = data[i+1:]
	}
	w.partial = bytes.Clone(data)
	if len(msgs) == 0 {
		return len(b), nil
	}
	if err := w.p.SendMessages(msgs); err != nil {
		return 0, err
	}
	return len(b), nil
}

// assignment reads the order analysis's assignment from ZooKeeper.
func (r *attackRig) assignment() bool {
	data, _, err := r.zk.Get(zkstore.DefaultRoot + "/assignments/orders")
	return err == nil && json.Unmarshal(data, &r.asg) == nil
}

// strangersWithTasks lists the nodes of the last assignment read that are
// not the secret nodes.
func (r *attackRig) strangersWithTasks() []string {
	var out []string
	for _, node := range r.asg.NodesUsed() {
		if r.nodes[r.asg.Nodes[node]] == nil {
			out = append(out, node)
		}
	}
	return out
}

// task returns the first task of component whose node is (or, with
// !same, is not) the node at addr ("": any), and that node's address.
func (r *attackRig) task(t *testing.T, component, addr string, same bool) (int, string) {
	t.Helper()
	for _, task := range r.topo.Tasks(component) {
		at := r.asg.Nodes[r.asg.Tasks[task]]
		if addr == "" || (at == addr) == same {
			return task, at
		}
	}
	t.Fatalf("no task of %s %s %s in %+v", component, map[bool]string{true: "on", false: "off"}[same], addr, r.asg)
	return 0, ""
}

// pid is the actor of a task on the node at addr.
func (r *attackRig) pid(component string, task int, addr string) *actor.PID {
	return actor.NewPID(addr, "orders/"+component+"-"+strconv.Itoa(task))
}

// dial connects to the node at to as a holder of the cluster secret that
// claims to be the node at claim, with a certificate for claim's host: a
// node of the cluster, as far as the handshake can tell.
func (r *attackRig) dial(t *testing.T, to, claim string) *testinfra.Peer {
	t.Helper()
	host, _, err := net.SplitHostPort(claim)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := cluster.SecretTLS(r.secret, host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := testinfra.DialPeer(to, claim, conf)
	if err != nil {
		t.Fatalf("a member claiming %s could not connect to %s: %v", claim, to, err)
	}
	t.Cleanup(p.Close)
	return p
}

// refusal returns nil if a node logged a refusal with all of parts on one
// line (the peer it names, the reason), else an error saying it did not.
func refusal(p *squallProcess, parts ...string) error {
	for _, line := range strings.Split(p.output(), "\n") {
		if !strings.Contains(line, "refused: ") {
			continue
		}
		all := true
		for _, part := range parts {
			all = all && strings.Contains(line, part)
		}
		if all {
			return nil
		}
	}
	return fmt.Errorf("node %s logged no refusal naming %q", p.addr, parts)
}

// exited reports whether a node process has ended; one its parent has not
// reaped yet (a zombie) has.
func exited(p *squallProcess) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// forgedOrders is a tuple frame to a parse task with five ¥1,000,000
// orders, as the spout task would send it, and the orders' ids.
func forgedOrders(t *testing.T, parse, spout int) (*proto.TupleFrame, []string) {
	t.Helper()
	var ids []string
	var tuples []*proto.Tuple
	for i := range 5 {
		o := orders.Order{OrderID: fmt.Sprintf("FORGED-%d-%d", parse, i), UserID: "U99999", ProductID: "P1001", ProductName: "华为 Mate 60 Pro 手机",
			Category: "手机数码", UnitPrice: 1_000_000, Quantity: 1, Amount: 1_000_000, Province: "广东", City: "深圳", Payment: "alipay",
			Status: "paid", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		line, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := proto.EncodeValues([]any{line})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.OrderID)
		tuples = append(tuples, &proto.Tuple{Stream: topology.DefaultStream, SourceTask: int32(spout), SourceComponent: "orders", Values: vals})
	}
	raw, err := gproto.Marshal(&proto.TupleBatch{Topology: "orders", DestTask: int32(parse), SenderTask: int32(spout), Tuples: tuples})
	if err != nil {
		t.Fatal(err)
	}
	return &proto.TupleFrame{Batch: raw}, ids
}

// TestSecretClusterProcessesRefuseAttacks: three `squall node` processes
// sharing a cluster secret run the order analysis while orders keep
// arriving. Peers without the secret cannot connect; a member's forged
// orders are refused; hostile messages leave every node running and the
// throughput back within seconds; a node without the secret cannot join,
// and the leader gives no tasks to one that registered anyway. Redis ends
// equal to the truth.
func TestSecretClusterProcessesRefuseAttacks(t *testing.T) {
	const pace = 1500 // orders/s
	r, stopOrders := startAttackRig(t, pace)
	t.Logf("the order analysis counts %.0f orders/s on three secret nodes", r.rate)
	var forged []string

	t.Run("outsiders cannot connect", func(t *testing.T) {
		to := r.asg.Nodes[r.asg.Tasks[r.topo.Tasks("parse")[0]]]
		if p, err := testinfra.DialPeer(to, attackerAddr, nil); err == nil {
			p.Close()
			t.Error("a plaintext peer connected to a node with a cluster secret")
		}
		other, err := cluster.SecretTLS([]byte("not the secret of this cluster"), "127.0.0.9")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := testinfra.DialPeer(to, attackerAddr, other); err == nil {
			p.Close()
			t.Error("a peer with another cluster's secret connected")
		}
		// A member whose certificate is for its own host, claiming another
		// node's address.
		mine, err := cluster.SecretTLS(r.secret, "127.0.0.9")
		if err != nil {
			t.Fatal(err)
		}
		_, elsewhere := r.task(t, "parse", to, false)
		if p, err := testinfra.DialPeer(to, elsewhere, mine); err == nil {
			closed := p.Closed(5 * time.Second)
			p.Close()
			if !closed {
				t.Errorf("a member with a certificate for 127.0.0.9 connected as %s", elsewhere)
			}
		}
		check.For(t, 10*time.Second, func() error {
			return errors.Join(refusal(r.nodes[to], "TLS handshake of an incoming connection", "from=127.0.0.1"),
				refusal(r.nodes[to], "the peer's certificate is not for it"))
		})
	})

	t.Run("forged tuples are not counted", func(t *testing.T) {
		spout, _ := r.task(t, "orders", "", true)
		attacked := map[string]bool{}
		for _, parse := range r.topo.Tasks("parse") {
			// One parse task a node: a node logs a peer's refusals for one
			// reason once a minute.
			at := r.asg.Nodes[r.asg.Tasks[parse]]
			if attacked[at] {
				continue
			}
			attacked[at] = true
			frame, ids := forgedOrders(t, parse, spout)
			forged = append(forged, ids...)
			if err := r.dial(t, at, attackerAddr).SendMessage(r.pid("parse", parse, at), frame); err != nil {
				t.Fatal(err)
			}
			check.For(t, 10*time.Second, func() error {
				return refusal(r.nodes[at], "tuple batch", "from="+attackerAddr, fmt.Sprintf("a batch from task %d, which does not run there", spout))
			})
		}
	})

	t.Run("hostile messages leave the nodes running", func(t *testing.T) {
		parse, parseAt := r.task(t, "parse", "", true)
		spout, spoutAt := r.task(t, "orders", "", true)
		spout2, spout2At := r.task(t, "orders", spoutAt, false)
		// A parse task on another node than the spout's: the node the
		// spout's credits come from.
		feeder, feederAt := r.task(t, "parse", spoutAt, false)
		frame, _ := forgedOrders(t, parse, spout)
		noTargets := testinfra.Batch(r.pid("parse", parse, parseAt), frame)
		noTargets.Envelopes[0].Target, noTargets.Targets = 7, nil
		unknownType := testinfra.Batch(r.pid("parse", parse, parseAt), frame)
		unknownType.TypeNames = []string{"squall.NoSuchMessage"}
		badSerializer := testinfra.Batch(r.pid("parse", parse, parseAt), frame)
		badSerializer.Envelopes[0].SerializerId = 9
		attacks := []struct {
			name      string
			to, claim string
			batch     *remote.MessageBatch
			logged    []string
		}{
			{"a target index past an empty target list", parseAt, attackerAddr, noTargets, []string{"target index 7 of 0 targets"}},
			{"an unknown type", parseAt, attackerAddr, unknownType, []string{"squall.NoSuchMessage"}},
			{"an unknown serializer", parseAt, attackerAddr, badSerializer, []string{"serializer 9"}},
			{"a credit from task 100000", spoutAt, attackerAddr,
				testinfra.Batch(r.pid("orders", spout, spoutAt), &proto.Credit{Topology: "orders", FromTask: 100000, ToTask: int32(spout), Batches: 1}),
				[]string{"a credit from task 100000, which does not run there"}},
			// A member claiming its own address speaks for no task.
			{"a credit of -1000000 batches from a member", spout2At, attackerAddr,
				testinfra.Batch(r.pid("orders", spout2, spout2At), &proto.Credit{Topology: "orders", FromTask: int32(feeder), ToTask: int32(spout2), Batches: -1_000_000}),
				[]string{fmt.Sprintf("a credit from task %d, which does not run there", feeder)}},
			// The secret lets its holder make a certificate for any host: one
			// for the host of the node the spout's credits come from passes
			// the gate as that node. The credit itself is what is refused.
			{"a credit of -1000000 batches as the node that runs the spout's targets", spoutAt, feederAt,
				testinfra.Batch(r.pid("orders", spout, spoutAt), &proto.Credit{Topology: "orders", FromTask: int32(feeder), ToTask: int32(spout), Batches: -1_000_000}),
				[]string{"a credit of -1000000 batches"}},
			{"an ack batch from a member", spoutAt, attackerAddr,
				testinfra.Batch(r.pid("orders", spout, spoutAt), &proto.AckBatch{Topology: "orders", SpoutTask: int32(spout),
					Kinds: []proto.AckKind{proto.AckKind_ACK_FAIL}, Roots: []uint64{1}, Values: []uint64{0}}),
				[]string{"an ack batch from a node that runs none of the topology's tasks"}},
			{"actor.Stop to a parse task", parseAt, attackerAddr, testinfra.Batch(r.pid("parse", parse, parseAt), &actor.Stop{}), []string{"actor.Stop"}},
		}
		for _, a := range attacks {
			// Above the pace, the topology is catching up on a backlog: a
			// rate it cannot keep once that is done.
			before := min(r.tp.rate(time.Now(), time.Second), pace)
			at := time.Now()
			if err := r.dial(t, a.to, a.claim).Send(a.batch); err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
			check.For(t, 10*time.Second, func() error { return refusal(r.nodes[a.to], append(a.logged, "from="+a.claim)...) })
			for addr, p := range r.nodes {
				if exited(p) {
					t.Fatalf("node %s exited after %s:\n%s", addr, a.name, p.output())
				}
			}
			took := r.tp.recovery(t, at, before)
			t.Logf("%s: refused; throughput back to half of %.0f orders/s within %v", a.name, before, took.Round(100*time.Millisecond))
		}
	})

	t.Run("a node without the secret cannot join", func(t *testing.T) {
		otherFile := filepath.Join(t.TempDir(), "other-secret")
		if err := os.WriteFile(otherFile, []byte("the secret of some other cluster"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, extra := range [][]string{nil, {"--cluster-secret-file", otherFile}} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			args := append([]string{"node", "--zk", r.z.Addr(), "--listen", "127.0.0.4:0", "--zk-session-timeout", "3s"}, extra...)
			out, err := exec.CommandContext(ctx, r.bin, args...).CombinedOutput()
			cancel()
			if err == nil || !strings.Contains(string(out), cluster.ErrTransportMismatch.Error()) {
				t.Errorf("squall %v: %v, want an error naming the transport mismatch\n%s", args, err, out)
			}
		}
		if !r.assignment() {
			t.Fatal("no assignment")
		}
		if s := r.strangersWithTasks(); len(s) > 0 {
			t.Errorf("nodes without the secret were given tasks: %v", s)
		}
	})

	stopOrders()
	waitForTruth(t, r.truth, r.rc, r.keys)
	for _, id := range forged {
		if n, err := r.rc.Exists(context.Background(), r.keys.Prefix+"applied:totals:"+id).Result(); err != nil || n != 0 {
			t.Errorf("forged order %s counted (%v)", id, err)
		}
	}
	t.Logf("%d orders and %d malformed lines, %d forged ones refused: Redis equals the truth", r.truth.Orders, r.truth.Malformed, len(forged))

	// A node that checks nothing (or raced the secret nodes to register)
	// registers as plaintext: the leader must not move tasks to it, which
	// could neither send to nor hear from the others.
	t.Run("the leader gives no tasks to a plaintext node", func(t *testing.T) {
		plain := cluster.NodeInfo{ID: "127.0.0.4:7000", Addr: "127.0.0.4:7000", Slots: 4, Started: time.Now().UTC(), Transport: cluster.TransportPlaintext}
		data, err := json.Marshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.zk.Create(zkstore.DefaultRoot+"/nodes/"+plain.ID, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.zk.Delete(zkstore.DefaultRoot+"/nodes/"+plain.ID, -1) }()
		// The leader's pass that saw the node either refuses it or moves
		// tasks to it.
		check.For(t, 20*time.Second, func() error {
			if !r.assignment() {
				return errors.New("no assignment")
			}
			for _, p := range r.nodes {
				if refusal(p, "no tasks for a node whose transport security differs", "from="+plain.ID) == nil {
					return nil
				}
			}
			if r.asg.Nodes[plain.ID] == "" {
				return fmt.Errorf("the leader has neither refused nor used the plaintext node %s", plain.ID)
			}
			return nil
		})
		if s := r.strangersWithTasks(); len(s) > 0 {
			t.Errorf("the leader gave tasks to %v", s)
		}
	})
}

// TestNodeOthersCanReachNeedsTLSOrASecret: `squall node` on an address
// that is not a loopback one refuses to start without certificates, a
// cluster secret or --insecure, before it listens. The address is one no
// host has (TEST-NET-1), so that even a broken check binds nothing; with a
// secret or --insecure the check passes and listening is what fails.
func TestNodeOthersCanReachNeedsTLSOrASecret(t *testing.T) {
	const reachable = "192.0.2.1:0"
	_, err := runSquall(t, "node", "--zk", "127.0.0.1:1", "--listen", reachable)
	if !errors.Is(err, cluster.ErrInsecure) {
		t.Errorf("squall node --listen %s: %v, want cluster.ErrInsecure", reachable, err)
	}
	secretFile := filepath.Join(t.TempDir(), "cluster-secret")
	if err := os.WriteFile(secretFile, []byte("a secret long enough for a cluster"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{{"--insecure"}, {"--cluster-secret-file", secretFile}} {
		_, err := runSquall(t, append([]string{"node", "--zk", "127.0.0.1:1", "--listen", reachable}, extra...)...)
		if !errors.Is(err, cluster.ErrListen) {
			t.Errorf("squall node --listen %s %v: %v, want cluster.ErrListen", reachable, extra, err)
		}
	}
}
