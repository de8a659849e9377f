package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/refusal"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// NodeOptions configure a node (Storm's supervisor, and Nimbus when it
// leads).
type NodeOptions struct {
	ZK zkstore.Options
	// ID names the node in ZooKeeper: a name as topology.ValidateName
	// takes for a node id, which may hold ':'. Default: the transport
	// address, host:port.
	ID string
	// Listen is the transport address, host:port (port 0: a free port).
	Listen string
	// MetricsAddr is where the node serves its metrics over HTTP: /metrics
	// for Prometheus, /api/metrics for squall ui, which finds it in the
	// node's ZooKeeper entry. Default: Listen's host, a free port.
	MetricsAddr string
	// Slots is how many topologies the node runs at most. Default 4.
	Slots int
	// TLS secures the transport between nodes with mutual TLS from
	// certificates (see TransportOptions.TLS).
	TLS *tls.Config
	// Secret secures it with mutual TLS from a secret the cluster's nodes
	// share (see TransportOptions.Secret). Not with TLS.
	Secret []byte
	// Insecure allows a transport without TLS or secret on an address
	// other hosts can reach (see TransportOptions.Insecure).
	Insecure bool
	// Resync is how often the node re-reads ZooKeeper even without a watch
	// firing, in case one was lost across a reconnect. Default 2s.
	Resync time.Duration
	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
}

// tasksZK is the ZooKeeper the node lends its tasks
// (zkstore.ClusterOptions): its own, without its logger, so that a task's
// connection logs as the task does.
func (o NodeOptions) tasksZK() zkstore.Options {
	lent := o.ZK
	lent.Logger = nil
	return lent
}

// Node is a running squall node.
type Node struct {
	opts      NodeOptions
	zk        *zkstore.Session
	watches   *watches
	transport *Transport
	metrics   *metricsServer
	log       *slog.Logger
	changed   chan struct{}
	queries   chan func() // run on the loop goroutine
	stop      chan struct{}
	done      chan struct{}

	// Owned by the loop goroutine.
	running  map[string]*share
	killSeen map[string]time.Time
	// refusals logs what the node will not act on in ZooKeeper, once a
	// minute each: live nodes of another transport security, records
	// under another name than their own.
	refusals *refusal.Log

	mu     sync.Mutex
	leader bool
}

// share is this node's part of one topology.
type share struct {
	version int64
	run     *actors.LocalTopology
	status  Status
	killing bool
}

// ErrListenHost means a node's listen address without a host other nodes
// can reach: empty, 0.0.0.0 or ::. The node publishes the address in
// ZooKeeper as where it is reached, so it must be that.
var ErrListenHost = errors.New("no host other nodes can reach")

// StartNode starts the transport, joins the cluster and follows its
// assignments until Stop. With opts.ZK.Auth it fails with ErrOpenACL while
// anyone else can change squall's znodes: they could make it run anything
// registered, with settings of their choosing.
func StartNode(opts NodeOptions) (*Node, error) {
	if host, port, err := net.SplitHostPort(opts.Listen); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
		return nil, fmt.Errorf("listen address %q: %w; give the address other nodes reach this one at, such as 192.0.2.10:%s", opts.Listen, ErrListenHost, port)
	}
	if opts.Slots <= 0 {
		opts.Slots = 4
	}
	if opts.Resync <= 0 {
		opts.Resync = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.ZK.Logger = opts.Logger
	t, err := StartTransport(TransportOptions{Listen: opts.Listen, TLS: opts.TLS, Secret: opts.Secret, Insecure: opts.Insecure, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	if opts.ID == "" {
		opts.ID = t.Addr
	}
	if err := topology.ValidateName(topology.NodeID, opts.ID); err != nil {
		t.Stop()
		return nil, fmt.Errorf("start node: %w", err)
	}
	c, err := zkstore.OpenRoot(opts.ZK)
	if err != nil {
		t.Stop()
		return nil, err
	}
	n := &Node{
		opts: opts, zk: c, transport: t,
		log:      opts.Logger.With("node", opts.ID),
		changed:  make(chan struct{}, 1),
		queries:  make(chan func()),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		running:  map[string]*share{},
		killSeen: map[string]time.Time{},
	}
	n.refusals = &refusal.Log{Logger: n.log}
	n.watches = newWatches(c.Conn(), n.changed)
	if err := n.checkTransport(); err != nil {
		c.Close()
		t.Stop()
		return nil, err
	}
	if opts.MetricsAddr == "" {
		host, _, _ := net.SplitHostPort(t.Addr)
		opts.MetricsAddr = net.JoinHostPort(host, "0")
	}
	if n.metrics, err = startMetrics(opts.MetricsAddr, n); err != nil {
		c.Close()
		t.Stop()
		return nil, err
	}
	if err := n.register(); err != nil {
		n.metrics.stop()
		c.Close()
		t.Stop()
		return nil, err
	}
	go n.loop()
	n.log.Info("node started", "addr", t.Addr, "metrics", n.metrics.addr, "slots", opts.Slots)
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.opts.ID }

// Addr returns the node's transport address.
func (n *Node) Addr() string { return n.transport.Addr }

// MetricsAddr returns the address of the node's metrics server.
func (n *Node) MetricsAddr() string { return n.metrics.addr }

// IsLeader reports whether the node currently leads.
func (n *Node) IsLeader() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leader
}

// Stop leaves the cluster: it shuts its topology shares down, closes the
// ZooKeeper session (so its ephemeral znodes vanish at once) and stops the
// transport.
func (n *Node) Stop() {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.done
}

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Running returns the local shares of topologies, by name.
func (n *Node) Running() map[string]*actors.LocalTopology {
	ch := make(chan map[string]*actors.LocalTopology, 1)
	select {
	case n.queries <- func() {
		out := make(map[string]*actors.LocalTopology, len(n.running))
		for name, s := range n.running {
			out[name] = s.run
		}
		ch <- out
	}:
		return <-ch
	case <-n.done:
		return nil
	}
}

func (n *Node) loop() {
	defer close(n.done)
	tick := time.NewTicker(n.opts.Resync)
	defer tick.Stop()
	for {
		n.reconcile()
		select {
		case <-n.stop:
			n.shutdown()
			return
		case <-n.changed:
		case <-tick.C:
		case q := <-n.queries:
			q()
		}
	}
}

func (n *Node) shutdown() {
	for name, s := range n.running {
		s.run.Shutdown()
		delete(n.running, name)
	}
	n.zk.Close()
	n.transport.Stop()
	n.metrics.stop()
	n.log.Info("node stopped")
}

// register creates the node's ephemeral znode and its election candidate,
// again after a session expired and took them.
func (n *Node) register() error {
	info := NodeInfo{ID: n.opts.ID, Addr: n.transport.Addr, Metrics: n.metrics.addr, Slots: n.opts.Slots, Started: time.Now().UTC(), Transport: n.transport.Mode}
	p, err := n.zk.Layout().Node(n.opts.ID)
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	if ok, _, err := n.zk.Conn().Exists(p); err != nil {
		return fmt.Errorf("register node %s: %w", n.opts.ID, err)
	} else if !ok {
		data, _ := json.Marshal(info)
		if _, err := n.zk.Conn().Create(p, data, zk.FlagEphemeral, n.zk.ACL()); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("register node %s: %w", n.opts.ID, err)
		}
	}
	cands, err := n.zk.Children(n.zk.Layout().Dir(zkstore.LeaderDir), zkstore.LeaderCandidate)
	if err != nil {
		return fmt.Errorf("election: %w", err)
	}
	for _, c := range cands {
		cp, err := n.zk.Layout().Candidate(c)
		if err != nil {
			return fmt.Errorf("election: %w", err)
		}
		data, _, err := n.zk.Conn().Get(cp)
		if err == nil && string(data) == n.opts.ID {
			return nil
		}
	}
	if _, err := n.zk.Conn().Create(n.zk.Layout().NewCandidate(), []byte(n.opts.ID), zk.FlagEphemeral|zk.FlagSequence, n.zk.ACL()); err != nil {
		return fmt.Errorf("election: %w", err)
	}
	return nil
}

// reconcile brings this node in line with ZooKeeper: registration,
// leadership, and the topology shares it should run. ZooKeeper being
// unreachable leaves running shares alone: tasks keep working without it.
func (n *Node) reconcile() {
	if n.zk.Conn().State() != zk.StateHasSession {
		return
	}
	if err := n.register(); err != nil {
		n.log.Warn("cannot register", "err", err)
		return
	}
	for _, d := range []zkstore.Dir{zkstore.LeaderDir, zkstore.NodesDir, zkstore.TopologiesDir, zkstore.AssignmentsDir} {
		n.watches.arm(n.zk.Layout().Dir(d), true)
	}
	leading := n.checkLeader()
	if leading {
		if err := n.lead(); err != nil {
			n.log.Warn("leader pass failed", "err", err)
		}
	}
	if err := n.supervise(); err != nil {
		n.log.Warn("supervise pass failed", "err", err)
	}
}

// checkLeader reports whether this node's candidate is the lowest.
func (n *Node) checkLeader() bool {
	// Sorted, n_<10-digit sequence>: lexical order is numeric order.
	cands, err := n.zk.Children(n.zk.Layout().Dir(zkstore.LeaderDir), zkstore.LeaderCandidate)
	if err != nil || len(cands) == 0 {
		return false
	}
	cp, err := n.zk.Layout().Candidate(cands[0])
	if err != nil {
		return false
	}
	data, _, err := n.zk.Conn().Get(cp)
	leading := err == nil && string(data) == n.opts.ID
	n.mu.Lock()
	was := n.leader
	n.leader = leading
	n.mu.Unlock()
	if leading && !was {
		n.log.Info("became leader")
	}
	return leading
}

// liveNodes reads the registered nodes.
func (n *Node) liveNodes() (map[string]NodeInfo, error) {
	ids, err := n.zk.Children(n.zk.Layout().Dir(zkstore.NodesDir), topology.NodeID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]NodeInfo, len(ids))
	for _, id := range ids {
		p, err := n.zk.Layout().Node(id)
		if err != nil {
			return nil, err
		}
		var info NodeInfo
		if _, ok, err := n.zk.GetJSON(p, &info); err == nil && ok {
			out[id] = info
		}
	}
	return out, nil
}

// ErrTransportMismatch means a node whose transport security (plaintext,
// or mutual TLS from another authority) differs from the live nodes': it
// could not exchange tuples with them.
var ErrTransportMismatch = errors.New("transport security differs from the cluster's")

// checkTransport refuses to join a cluster whose live nodes secure their
// transport otherwise than this one.
func (n *Node) checkTransport() error {
	nodes, err := n.liveNodes()
	if err != nil {
		return err
	}
	for id, info := range nodes {
		if id != n.opts.ID && info.transportMode() != n.transport.Mode {
			return fmt.Errorf("node %s: %w: node %s at %s uses %s, this node %s (give every node the same --tls-* files or cluster secret)",
				n.opts.ID, ErrTransportMismatch, id, info.Addr, info.transportMode(), n.transport.Mode)
		}
	}
	return nil
}

// lead is the leader's pass (Storm's Nimbus): assign every submitted
// topology's tasks to live nodes, re-assign a dead node's tasks, and clean
// up killed topologies once their nodes had time to drain them.
func (n *Node) lead() error {
	nodes, err := n.liveNodes()
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(nodes))
	for id, info := range nodes {
		if info.transportMode() != n.transport.Mode {
			n.refusals.Refuse(id, "no tasks for a node whose transport security differs", "addr", info.Addr, "its", info.transportMode(), "ours", n.transport.Mode)
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	names, err := n.zk.Children(n.zk.Layout().Dir(zkstore.TopologiesDir), topology.TopologyName)
	if err != nil {
		return err
	}
	for _, name := range names {
		p, err := n.zk.Layout().Topology(name)
		if err != nil {
			return err
		}
		var rec TopologyRecord
		if _, ok, err := n.zk.GetJSON(p, &rec); err != nil || !ok {
			continue
		}
		if rec.Name != name {
			// Its name would steer the assignment and the reaping of
			// another topology.
			n.refusals.Refuse(p, "a topology record of another name", "name", rec.Name)
			continue
		}
		n.watches.arm(p, false)
		if rec.Status == StatusKilled {
			n.reapKilled(&rec)
			continue
		}
		if len(ids) == 0 {
			continue
		}
		if err := n.assignTopology(&rec, ids, nodes); err != nil {
			n.log.Error("cannot assign topology", "topology", name, "err", err)
		}
	}
	return nil
}

func (n *Node) assignTopology(rec *TopologyRecord, ids []string, nodes map[string]NodeInfo) error {
	topo, _, err := build(rec)
	if err != nil {
		return err
	}
	var tasks []int
	for _, c := range topo.Components() {
		tasks = append(tasks, topo.Tasks(c.ID)...)
	}
	ap, err := n.zk.Layout().Assignment(rec.Name)
	if err != nil {
		return err
	}
	var prev Assignment
	_, had, err := n.zk.GetJSON(ap, &prev)
	if err != nil {
		return err
	}
	var prevp *Assignment
	if had && prev.RecordVersion == rec.Version {
		prevp = &prev // same task numbering: keep tasks where they are
	}
	next := Assignment{Topology: rec.Name, RecordVersion: rec.Version, Tasks: assign(tasks, ids, rec.Workers, prevp), Nodes: map[string]string{}}
	for _, id := range next.NodesUsed() {
		next.Nodes[id] = nodes[id].Addr
	}
	if had && sameAssignment(&prev, &next) {
		return nil
	}
	next.Version = prev.Version + 1
	n.log.Info("assigning topology", "topology", rec.Name, "version", next.Version, "nodes", next.NodesUsed())
	return n.zk.PutJSON(ap, &next)
}

func sameAssignment(a, b *Assignment) bool {
	if a.RecordVersion != b.RecordVersion || len(a.Tasks) != len(b.Tasks) {
		return false
	}
	for t, n := range a.Tasks {
		if b.Tasks[t] != n || a.Nodes[n] != b.Nodes[n] {
			return false
		}
	}
	return true
}

// reapKilled removes a killed topology's assignment and record once the
// kill wait (plus the session timeout, for nodes to notice) has passed.
func (n *Node) reapKilled(rec *TopologyRecord) {
	seen, ok := n.killSeen[rec.Name]
	if !ok {
		n.killSeen[rec.Name] = time.Now()
		return
	}
	if time.Since(seen) < time.Duration(rec.KillWait)+n.opts.ZK.Defaults().SessionTimeout {
		return
	}
	for _, pathOf := range []func(string) (string, error){n.zk.Layout().Assignment, n.zk.Layout().Topology} {
		p, err := pathOf(rec.Name)
		if err != nil {
			n.log.Warn("cannot remove killed topology", "err", err)
			return
		}
		if err := n.zk.Conn().Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			n.log.Warn("cannot remove killed topology", "path", p, "err", err)
			return
		}
	}
	delete(n.killSeen, rec.Name)
	n.log.Info("removed killed topology", "topology", rec.Name)
}

// supervise is every node's pass (Storm's supervisor): run the shares of
// topologies assigned to this node at their current version, follow their
// status, and stop shares no longer assigned here.
func (n *Node) supervise() error {
	names, err := n.zk.Children(n.zk.Layout().Dir(zkstore.AssignmentsDir), topology.TopologyName)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, name := range names {
		ap, err := n.zk.Layout().Assignment(name)
		if err != nil {
			return err
		}
		tp, err := n.zk.Layout().Topology(name)
		if err != nil {
			return err
		}
		n.watches.arm(ap, false)
		n.watches.arm(tp, false)
		var a Assignment
		if _, ok, err := n.zk.GetJSON(ap, &a); err != nil || !ok {
			continue
		}
		if a.Nodes[n.opts.ID] == "" {
			continue
		}
		var rec TopologyRecord
		if _, ok, err := n.zk.GetJSON(tp, &rec); err != nil || !ok {
			continue
		}
		if a.Topology != name || rec.Name != name {
			n.refusals.Refuse(ap, "an assignment or topology record of another name", "assignment", a.Topology, "record", rec.Name)
			continue
		}
		wanted[name] = true
		n.follow(&a, &rec)
	}
	for name, s := range n.running {
		if !wanted[name] {
			n.log.Info("topology no longer assigned here; stopping its share", "topology", name)
			s.run.Shutdown()
			delete(n.running, name)
		}
	}
	return nil
}

// follow starts, restarts, (de)activates or kills this node's share of one
// topology.
func (n *Node) follow(a *Assignment, rec *TopologyRecord) {
	s := n.running[a.Topology]
	if rec.Status == StatusKilled {
		if s != nil && !s.killing {
			s.killing = true
			run := s.run
			wait := time.Duration(rec.KillWait)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if err := run.Kill(ctx); err != nil && !errors.Is(err, actors.ErrStopped) {
					n.log.Warn("kill did not drain", "topology", a.Topology, "err", err)
				}
				poke(n.changed)
			}()
		}
		return
	}
	if s != nil && s.version == a.Version {
		if s.status != rec.Status {
			if rec.Status == StatusActive {
				s.run.Activate()
			} else {
				s.run.Deactivate()
			}
			s.status = rec.Status
		}
		return
	}
	if s != nil {
		n.log.Info("assignment changed; restarting this node's share", "topology", a.Topology, "from", s.version, "to", a.Version)
		s.run.Shutdown()
		delete(n.running, a.Topology)
	}
	if len(n.running) >= n.opts.Slots {
		n.log.Error("no free slot for an assigned topology", "topology", a.Topology, "slots", n.opts.Slots)
		return
	}
	topo, conf, err := build(rec)
	if err != nil {
		n.log.Error("cannot build assigned topology", "topology", a.Topology, "err", err)
		return
	}
	conf.Logger = n.log
	conf.Resources = zkstore.ClusterOptions.Lend(conf.Resources, n.opts.tasksZK())
	placement := actors.Placement{Self: n.transport.Addr, Tasks: map[int]string{}}
	for task, node := range a.Tasks {
		placement.Tasks[task] = a.Nodes[node]
	}
	run, err := actors.RunOn(context.Background(), n.transport.System, topo, conf, placement)
	if err != nil {
		n.log.Error("cannot start assigned topology", "topology", a.Topology, "err", err)
		return
	}
	if rec.Status == StatusInactive {
		run.Deactivate()
	}
	n.running[a.Topology] = &share{version: a.Version, run: run, status: rec.Status}
	n.log.Info("running share of topology", "topology", a.Topology, "version", a.Version)
}
