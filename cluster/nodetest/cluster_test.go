package nodetest

import (
	"context"
	"fmt"
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
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
	"github.com/squall-stream/squall/zkstore"
)

// The topology the cluster tests submit emits the ids of testIDs, a ledger
// whose spout tasks on every node of the test process share it. An id
// emitted but not acked within its lease is emitted again: the stand-in for
// a Kafka spout resuming from its committed offsets when the node that read
// a message dies.
var (
	testIDs      atomic.Pointer[topologytest.Ledger]
	registerOnce sync.Once
)

func newTestIDs(n int, lease time.Duration) *topologytest.Ledger {
	ids := topologytest.NewLedger(n, topology.NewFields("id", "city"), func(id int) topology.Values {
		return topology.Values{int64(id), []string{"北京", "上海", "广州", "深圳", "杭州"}[id%5]}
	}).ReplayUnfinished(lease)
	testIDs.Store(ids)
	return ids
}

func registerTestTopology() {
	registerOnce.Do(func() {
		cluster.Register("cluster-test", func(settings map[string]string) (*topology.Topology, topology.Config, error) {
			var seen atomic.Int64
			b := topology.NewBuilder()
			b.SetSpout("spout", func() topology.Spout { return testIDs.Load().Spout() }, 2)
			b.SetBolt("pass", passing(&seen), 3).ShuffleGrouping("spout")
			b.SetBolt("sink", passing(&seen), 3).FieldsGrouping("pass", "key")
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

// startCluster starts ZooKeeper and three nodes on it, waits for a leader,
// and submits the test topology with opts over a ledger of total ids. What
// it starts stops when the test ends.
func startCluster(t *testing.T, total int, opts cluster.SubmitOptions) (*topologytest.Ledger, []*cluster.Node, *cluster.Admin) {
	t.Helper()
	z := testinfra.StartZooKeeper(t)
	registerTestTopology()
	ids := newTestIDs(total, 6*time.Second)
	nodes := startNodes(t, z.Addr(), 3)
	check.For(t, 20*time.Second, oneLeader(nodes, nil))
	admin, err := cluster.NewAdmin(zkstore.Options{Servers: []string{z.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	if err := admin.Submit("cluster-test", opts); err != nil {
		t.Fatal(err)
	}
	return ids, nodes, admin
}

// oneLeader is a condition: exactly one of nodes leads, and not old (a
// leader that was stopped, or nil).
func oneLeader(nodes []*cluster.Node, old *cluster.Node) func() error {
	return func() error {
		l := leaders(nodes)
		if len(l) == 1 && l[0] != old {
			return nil
		}
		var ids []string
		for _, n := range l {
			ids = append(ids, n.ID())
		}
		return fmt.Errorf("leading: %v; want one node, and not a stopped one", ids)
	}
}

// placed is a condition: the only topology runs on nodes nodes, with tasks
// tasks (any number for 0).
func placed(admin *cluster.Admin, nodes, tasks int) func() error {
	return func() error {
		l, err := admin.List()
		if err != nil {
			return err
		}
		if len(l) != 1 || len(l[0].Nodes) != nodes || tasks != 0 && l[0].Tasks != tasks {
			return fmt.Errorf("topologies %+v, want one on %d nodes with %d tasks", l, nodes, tasks)
		}
		return nil
	}
}

// acked is a condition: more than n ids of ids acked.
func acked(ids *topologytest.Ledger, n int) func() error {
	return func() error {
		if got := ids.Acked(); got <= n {
			return fmt.Errorf("%d ids acked, want more than %d", got, n)
		}
		return nil
	}
}

// TestClusterRunsAndSurvivesLosingNodes: three nodes on one ZooKeeper run a
// submitted topology spread over all of them; a non-leader and then the
// leader leave mid-run; every id is still processed.
func TestClusterRunsAndSurvivesLosingNodes(t *testing.T) {
	const total = 30000
	ids, nodes, admin := startCluster(t, total, cluster.SubmitOptions{})
	if err := admin.Submit("cluster-test", cluster.SubmitOptions{}); err == nil {
		t.Fatal("a second submission under the same name succeeded")
	}
	check.For(t, 20*time.Second, placed(admin, 3, 8))
	check.For(t, 30*time.Second, acked(ids, total/3))
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
	check.For(t, 30*time.Second, placed(admin, 2, 0))
	t.Logf("re-assigned %v after losing a node", time.Since(lost).Round(time.Millisecond))
	check.For(t, 60*time.Second, acked(ids, 2*total/3))

	// The leader leaves; the survivor takes over and runs everything.
	old := leaders(nodes)[0]
	old.Stop()
	check.For(t, 30*time.Second, oneLeader(nodes, old))
	check.For(t, 90*time.Second, ids.AllAcked)

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
	check.For(t, 30*time.Second, func() error {
		if l, err := admin.List(); err != nil || len(l) != 0 {
			return fmt.Errorf("topologies %+v (%v), want none", l, err)
		}
		return nil
	})
}

// checkClusterMetrics checks what squall ui and Prometheus see of the
// running topology: every task, from every node, and counts that move.
func checkClusterMetrics(t *testing.T, admin *cluster.Admin, nodes []*cluster.Node) {
	t.Helper()
	tasks := func(c actors.ComponentMetrics) int { return len(c.Tasks) }
	check.For(t, 20*time.Second, func() error {
		tops, err := admin.Metrics(context.Background())
		if err != nil || len(tops) != 1 || tops[0].Name != "cluster-test" || tops[0].Status != cluster.StatusActive || len(tops[0].Unreachable) != 0 {
			return fmt.Errorf("metrics %+v (%v), want those of cluster-test, active, with every node reachable", tops, err)
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
		if n != 8 || len(tops[0].TaskNodes) != 8 || spoutAcked == 0 || sinkExecuted < spoutAcked {
			return fmt.Errorf("metrics of %d tasks, %d placed; the spout acked %d, the sink executed %d; want 8, 8, more than 0 and at least as many",
				n, len(tops[0].TaskNodes), spoutAcked, sinkExecuted)
		}
		return nil
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
	const total = 30000
	ids, _, admin := startCluster(t, total, cluster.SubmitOptions{Workers: 2})
	check.For(t, 20*time.Second, placed(admin, 2, 0))
	check.For(t, 30*time.Second, acked(ids, total/3))
	if err := admin.Rebalance("cluster-test", map[string]int{"pass": 4, "sink": 5}, 3); err != nil {
		t.Fatal(err)
	}
	check.For(t, 20*time.Second, placed(admin, 3, 11))
	check.For(t, 90*time.Second, ids.AllAcked)
}
