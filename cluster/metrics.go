package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/actors/promexport"
	"github.com/squall-stream/squall/topology"
)

// NodeMetrics is a node's answer on /api/metrics: its share of each
// topology it runs.
type NodeMetrics struct {
	Node       string                               `json:"node"`
	Topologies map[string][]actors.ComponentMetrics `json:"topologies"`
}

// metricsServer serves a node's metrics over HTTP: /metrics for
// Prometheus (the task metrics of its topologies, and the Go runtime's),
// /api/metrics for squall ui.
type metricsServer struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

func startMetrics(addr string, n *Node) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics server on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promexport.NewHandler(n.componentMetrics))
	mux.HandleFunc("GET /api/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(NodeMetrics{Node: n.ID(), Topologies: n.componentMetrics()})
	})
	s := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics server stopped", "addr", s.addr, "err", err)
		}
	}()
	return s, nil
}

// componentMetrics reads the metrics of the node's share of each topology it runs.
func (n *Node) componentMetrics() map[string][]actors.ComponentMetrics {
	running := n.Running()
	out := make(map[string][]actors.ComponentMetrics, len(running))
	for name, lt := range running {
		out[name] = lt.Metrics()
	}
	return out
}

func (s *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// TopologyMetrics is one topology across the cluster.
type TopologyMetrics struct {
	Name   string
	Status Status
	// Components sum the tasks of every node that answered.
	Components []actors.ComponentMetrics
	// Unreachable are the nodes that run some of the topology's tasks and
	// did not answer: the figures leave their tasks out.
	Unreachable []string
	// TaskNodes says which node runs each task of the figures.
	TaskNodes map[int]string
	// Topology is the topology as the nodes build it from its record, for
	// drawing; nil when this binary does not register it.
	Topology *topology.Topology
}

// Metrics reads the metrics of every submitted topology from the nodes
// that run it, each asked over HTTP within ctx. A node that does not answer
// is named in the topology's Unreachable rather than failing the call.
func (a *Admin) Metrics(ctx context.Context) ([]TopologyMetrics, error) {
	tops, err := a.List()
	if err != nil {
		return nil, err
	}
	nodes, err := a.Nodes()
	if err != nil {
		return nil, err
	}
	answers := make(map[string]*NodeMetrics, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, node := range nodes {
		wg.Go(func() {
			m, err := fetchNodeMetrics(ctx, node)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				a.zk.Logger().Warn("node metrics unreadable", "node", node.ID, "err", err)
				return
			}
			answers[node.ID] = m
		})
	}
	wg.Wait()
	out := make([]TopologyMetrics, 0, len(tops))
	for _, t := range tops {
		tm := TopologyMetrics{Name: t.Name, Status: t.Status, TaskNodes: map[int]string{}, Topology: a.topologyOf(&t.TopologyRecord)}
		var parts [][]actors.ComponentMetrics
		for _, id := range t.Nodes {
			m, ok := answers[id]
			if !ok {
				tm.Unreachable = append(tm.Unreachable, id)
				continue
			}
			part := m.Topologies[t.Name]
			for _, c := range part {
				for _, task := range c.Tasks {
					tm.TaskNodes[task.Task] = id
				}
			}
			parts = append(parts, part)
		}
		tm.Components = actors.MergeComponents(parts...)
		out = append(out, tm)
	}
	return out, nil
}

func fetchNodeMetrics(ctx context.Context, node NodeInfo) (*NodeMetrics, error) {
	if node.Metrics == "" {
		return nil, fmt.Errorf("node %s publishes no metrics address", node.ID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+node.Metrics+"/api/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s metrics: %w", node.ID, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node %s metrics: %s", node.ID, res.Status)
	}
	var m NodeMetrics
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("node %s metrics: %w", node.ID, err)
	}
	return &m, nil
}
