package nodetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// pool hands out ids 0..n-1 to the test topology's spout tasks on every
// node of the test process. An id taken but not acked within the lease is
// handed out again: the stand-in for a Kafka spout resuming from its
// committed offsets when the node that read a message dies.
type pool struct {
	mu     sync.Mutex
	n      int
	next   int
	leased map[int]time.Time
	acked  map[int]int
	lease  time.Duration
}

func newPool(n int, lease time.Duration) *pool {
	return &pool{n: n, leased: map[int]time.Time{}, acked: map[int]int{}, lease: lease}
}

func (p *pool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for id, at := range p.leased {
		if now.Sub(at) > p.lease {
			p.leased[id] = now
			return id, true
		}
	}
	if p.next >= p.n {
		return 0, false
	}
	id := p.next
	p.next++
	p.leased[id] = now
	return id, true
}

func (p *pool) ack(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acked[id]++
	delete(p.leased, id)
}

func (p *pool) fail(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.leased[id]; ok {
		p.leased[id] = time.Time{} // replay at once
	}
}

func (p *pool) done() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

type poolSpout struct {
	p   *pool
	out topology.SpoutOutputCollector
}

func (s *poolSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "city"))
}
func (s *poolSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *poolSpout) NextTuple() {
	if id, ok := s.p.take(); ok {
		_ = s.out.Emit(topology.Values{int64(id), []string{"北京", "上海", "广州", "深圳", "杭州"}[id%5]}, id)
	}
}
func (s *poolSpout) Ack(id any)   { s.p.ack(id.(int)) }
func (s *poolSpout) Fail(id any)  { s.p.fail(id.(int)) }
func (s *poolSpout) Close() error { return nil }

// The topology the cluster tests submit, over the current pool.
var (
	testPool     atomic.Pointer[pool]
	registerOnce sync.Once
)

func registerTestTopology() {
	registerOnce.Do(func() {
		cluster.Register("cluster-test", func(settings map[string]string) (*topology.Topology, topology.Config, error) {
			var seen atomic.Int64
			b := topology.NewBuilder()
			b.SetSpout("spout", func() topology.Spout { return &poolSpout{p: testPool.Load()} }, 2)
			b.SetBolt("pass", topology.Basic(func() topology.BasicBolt { return passBolt{seen: &seen} }), 3).ShuffleGrouping("spout")
			b.SetBolt("sink", topology.Basic(func() topology.BasicBolt { return passBolt{seen: &seen} }), 3).FieldsGrouping("pass", "key")
			topo, err := b.Build()
			return topo, topology.Config{MessageTimeout: 3 * time.Second}, err
		})
	})
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func startNodes(t *testing.T, zkAddr string, n int) []*cluster.Node {
	t.Helper()
	var nodes []*cluster.Node
	for i := 0; i < n; i++ {
		node, err := cluster.StartNode(cluster.NodeOptions{
			ZK:     zkstore.Options{Servers: []string{zkAddr}, SessionTimeout: 4 * time.Second},
			Listen: "127.0.0.1:0",
			Resync: 500 * time.Millisecond,
			Logger: quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.Stop)
		nodes = append(nodes, node)
	}
	return nodes
}

func leaders(nodes []*cluster.Node) []*cluster.Node {
	var out []*cluster.Node
	for _, n := range nodes {
		select {
		case <-n.Done():
			continue
		default:
		}
		if n.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

// TestClusterRunsAndSurvivesLosingNodes: three nodes on one ZooKeeper run a
// submitted topology spread over all of them; a non-leader and then the
// leader leave mid-run; every id is still processed.
func TestClusterRunsAndSurvivesLosingNodes(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerTestTopology()
	const total = 30000
	p := newPool(total, 6*time.Second)
	testPool.Store(p)
	nodes := startNodes(t, z.Addr(), 3)
	wait(t, 20*time.Second, "one leader", func() bool { return len(leaders(nodes)) == 1 })

	admin, err := cluster.NewAdmin(zkstore.Options{Servers: []string{z.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("cluster-test", cluster.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Submit("cluster-test", cluster.SubmitOptions{}); err == nil {
		t.Fatal("a second submission under the same name succeeded")
	}
	wait(t, 20*time.Second, "the topology spread over 3 nodes", func() bool {
		l, err := admin.List()
		return err == nil && len(l) == 1 && len(l[0].Nodes) == 3 && l[0].Tasks == 8
	})
	wait(t, 30*time.Second, "a third of the ids", func() bool { return p.done() > total/3 })
	checkClusterMetrics(t, admin, nodes)

	// A non-leader leaves.
	var victim *cluster.Node
	for _, n := range nodes {
		if !n.IsLeader() {
			victim = n
			break
		}
	}
	lost := time.Now()
	victim.Stop()
	wait(t, 30*time.Second, "the topology on the 2 remaining nodes", func() bool {
		l, err := admin.List()
		return err == nil && len(l) == 1 && len(l[0].Nodes) == 2
	})
	t.Logf("re-assigned %v after losing a node", time.Since(lost).Round(time.Millisecond))
	wait(t, 60*time.Second, "two thirds of the ids", func() bool { return p.done() > 2*total/3 })

	// The leader leaves; the survivor takes over and runs everything.
	old := leaders(nodes)[0]
	old.Stop()
	wait(t, 30*time.Second, "a new leader", func() bool {
		l := leaders(nodes)
		return len(l) == 1 && l[0] != old
	})
	wait(t, 90*time.Second, "every id processed", func() bool { return p.done() == total })

	// Deactivate, activate and kill through the admin API.
	if err := admin.Deactivate("cluster-test"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Kill("cluster-test", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := admin.Activate("cluster-test"); err == nil {
		t.Fatal("activating a killed topology succeeded")
	}
	wait(t, 30*time.Second, "the killed topology removed", func() bool {
		l, err := admin.List()
		return err == nil && len(l) == 0
	})
}

// checkClusterMetrics checks what squall ui and Prometheus see of the
// running topology: every task, from every node, and counts that move.
func checkClusterMetrics(t *testing.T, admin *cluster.Admin, nodes []*cluster.Node) {
	t.Helper()
	tasks := func(c actors.ComponentMetrics) int { return len(c.Tasks) }
	wait(t, 20*time.Second, "the metrics of all 8 tasks from the 3 nodes", func() bool {
		tops, err := admin.Metrics(context.Background())
		if err != nil || len(tops) != 1 || tops[0].Name != "cluster-test" || tops[0].Status != cluster.StatusActive || len(tops[0].Unreachable) != 0 {
			return false
		}
		n, spoutAcked, sinkExecuted := 0, int64(0), int64(0)
		for _, c := range tops[0].Components {
			n += tasks(c)
			switch c.Component {
			case "spout":
				spoutAcked = c.Acked
			case "sink":
				sinkExecuted = c.Executed
			}
		}
		return n == 8 && len(tops[0].TaskNodes) == 8 && spoutAcked > 0 && sinkExecuted >= spoutAcked
	})
	// The topology itself, for squall ui to draw, as the nodes build it.
	tops, err := admin.Metrics(context.Background())
	if err != nil || len(tops) != 1 || tops[0].Topology == nil || tops[0].Topology.NumTasks() != 8 {
		t.Fatalf("metrics carry no topology of 8 tasks: %+v, %v", tops, err)
	}
	var exported bool
	for _, n := range nodes {
		resp, err := http.Get("http://" + n.MetricsAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "go_goroutines") {
			t.Fatalf("node %s /metrics has no Go runtime metrics:\n%.500s", n.ID(), body)
		}
		exported = exported || strings.Contains(string(body), `squall_tuples_executed_total{component="sink",task=`)
	}
	if !exported {
		t.Fatal("no node exports squall_tuples_executed_total for the sink's tasks")
	}
}

// TestRebalanceFromTwoToThreeNodesMidRun: a topology submitted on two of
// three nodes is rebalanced onto all three, with more tasks, while it runs;
// every id is still processed.
func TestRebalanceFromTwoToThreeNodesMidRun(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerTestTopology()
	const total = 30000
	p := newPool(total, 6*time.Second)
	testPool.Store(p)
	nodes := startNodes(t, z.Addr(), 3)
	wait(t, 20*time.Second, "one leader", func() bool { return len(leaders(nodes)) == 1 })
	admin, err := cluster.NewAdmin(zkstore.Options{Servers: []string{z.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("cluster-test", cluster.SubmitOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	wait(t, 20*time.Second, "the topology on 2 nodes", func() bool {
		l, err := admin.List()
		return err == nil && len(l) == 1 && len(l[0].Nodes) == 2
	})
	wait(t, 30*time.Second, "a third of the ids", func() bool { return p.done() > total/3 })
	if err := admin.Rebalance("cluster-test", map[string]int{"pass": 4, "sink": 5}, 3); err != nil {
		t.Fatal(err)
	}
	wait(t, 20*time.Second, "the topology on 3 nodes with 11 tasks", func() bool {
		l, err := admin.List()
		return err == nil && len(l) == 1 && len(l[0].Nodes) == 3 && l[0].Tasks == 11
	})
	wait(t, 90*time.Second, "every id processed", func() bool { return p.done() == total })
}
