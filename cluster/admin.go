package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// Errors of the admin operations.
var (
	// ErrExists means a submission under a name that is already running.
	ErrExists = errors.New("topology already submitted")
	// ErrUnknownTopology means an operation on a name that is not submitted.
	ErrUnknownTopology = errors.New("no such topology submitted")
)

// Admin changes what the cluster runs, through ZooKeeper: the Go API behind
// `squall submit|list|kill|activate|deactivate|rebalance`.
type Admin struct {
	zk *zkstore.Session

	// built caches the topologies Metrics builds from their records, by
	// name; an entry is good while the record's version and submission
	// are the same.
	builtMu sync.Mutex
	built   map[string]builtTopology
}

type builtTopology struct {
	version   int64
	submitted time.Time
	topo      *topology.Topology
}

// topologyOf builds the topology a record runs, as the nodes do, or
// returns nil when this binary cannot (it does not register the topology).
func (a *Admin) topologyOf(rec *TopologyRecord) *topology.Topology {
	a.builtMu.Lock()
	defer a.builtMu.Unlock()
	if b, ok := a.built[rec.Name]; ok && b.version == rec.Version && b.submitted.Equal(rec.Submitted) {
		return b.topo
	}
	topo, _, err := build(rec)
	if err != nil {
		a.zk.Logger().Debug("cannot build a submitted topology here; its streams are not shown", "topology", rec.Name, "err", err)
	}
	if a.built == nil {
		a.built = make(map[string]builtTopology)
	}
	a.built[rec.Name] = builtTopology{version: rec.Version, submitted: rec.Submitted, topo: topo}
	return topo
}

// NewAdmin connects to ZooKeeper. With opts.Auth it fails with ErrOpenACL
// while anyone else can change squall's znodes: what it submitted there
// could be changed under it.
func NewAdmin(opts zkstore.Options) (*Admin, error) {
	c, err := zkstore.OpenRoot(opts)
	if err != nil {
		return nil, err
	}
	return &Admin{zk: c}, nil
}

// Close ends the ZooKeeper session.
func (a *Admin) Close() { a.zk.Close() }

// SubmitOptions are a submission's settings.
type SubmitOptions struct {
	// Workers is how many nodes to spread over; 0 means all live nodes.
	Workers int
	// Settings are handed to the topology's factory and its tasks.
	Settings map[string]string
}

// Submit starts a registered topology on the cluster: the leader assigns
// its tasks and the nodes start them. The name must be registered in this
// binary (and so in the nodes', which run the same one).
func (a *Admin) Submit(name string, opts SubmitOptions) error {
	p, err := a.zk.Layout().Topology(name)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	rec := &TopologyRecord{Name: name, Status: StatusActive, Workers: opts.Workers, Settings: opts.Settings, Submitted: time.Now().UTC(), Version: 1}
	if _, _, err := build(rec); err != nil {
		return err
	}
	var old TopologyRecord
	if _, ok, err := a.zk.GetJSON(p, &old); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("submit %q: %w (status %s)", name, ErrExists, old.Status)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := a.zk.Conn().Create(p, data, 0, a.zk.ACL()); err != nil {
		if errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("submit %q: %w", name, ErrExists)
		}
		return fmt.Errorf("submit %q: %w", name, err)
	}
	return nil
}

// TopologySummary is one row of List.
type TopologySummary struct {
	TopologyRecord
	// Nodes run the topology's tasks, by the current assignment.
	Nodes []string
	// Tasks is the number of tasks assigned.
	Tasks int
}

// List returns the submitted topologies, by name.
func (a *Admin) List() ([]TopologySummary, error) {
	names, err := a.zk.Children(a.zk.Layout().Dir(zkstore.TopologiesDir), topology.TopologyName)
	if err != nil {
		return nil, err
	}
	var out []TopologySummary
	for _, name := range names {
		tp, err := a.zk.Layout().Topology(name)
		if err != nil {
			return nil, err
		}
		ap, err := a.zk.Layout().Assignment(name)
		if err != nil {
			return nil, err
		}
		var s TopologySummary
		if _, ok, err := a.zk.GetJSON(tp, &s.TopologyRecord); err != nil || !ok {
			continue
		}
		var asg Assignment
		if _, ok, _ := a.zk.GetJSON(ap, &asg); ok {
			s.Nodes, s.Tasks = asg.NodesUsed(), len(asg.Tasks)
		}
		out = append(out, s)
	}
	return out, nil
}

// Nodes returns the live nodes, by id.
func (a *Admin) Nodes() ([]NodeInfo, error) {
	ids, err := a.zk.Children(a.zk.Layout().Dir(zkstore.NodesDir), topology.NodeID)
	if err != nil {
		return nil, err
	}
	var out []NodeInfo
	for _, id := range ids {
		p, err := a.zk.Layout().Node(id)
		if err != nil {
			return nil, err
		}
		var info NodeInfo
		if _, ok, err := a.zk.GetJSON(p, &info); err == nil && ok {
			out = append(out, info)
		}
	}
	return out, nil
}

// Activate makes a topology's spouts emit again.
func (a *Admin) Activate(name string) error {
	return a.update(name, func(r *TopologyRecord) error { return r.setStatus(StatusActive) })
}

// Deactivate stops a topology's spouts; trees in flight still complete.
func (a *Admin) Deactivate(name string) error {
	return a.update(name, func(r *TopologyRecord) error { return r.setStatus(StatusInactive) })
}

// Kill deactivates a topology, lets its nodes drain in-flight trees for up
// to wait, then removes it.
func (a *Admin) Kill(name string, wait time.Duration) error {
	return a.update(name, func(r *TopologyRecord) error {
		if err := r.setStatus(StatusKilled); err != nil {
			return err
		}
		r.KillWait = Duration(wait)
		return nil
	})
}

// Rebalance changes components' parallelism and the number of worker
// nodes (workers < 0 keeps it). Tasks are renumbered and the nodes restart
// their shares; tuples in flight replay from their spouts' sources.
func (a *Admin) Rebalance(name string, parallelism map[string]int, workers int) error {
	return a.update(name, func(r *TopologyRecord) error {
		if r.Status == StatusKilled {
			return fmt.Errorf("rebalance %q: it was killed", name)
		}
		next := *r
		next.Parallelism = map[string]int{}
		for k, v := range r.Parallelism {
			next.Parallelism[k] = v
		}
		for k, v := range parallelism {
			next.Parallelism[k] = v
		}
		if workers >= 0 {
			next.Workers = workers
		}
		if _, _, err := build(&next); err != nil {
			return err
		}
		next.Version++
		*r = next
		return nil
	})
}

func (r *TopologyRecord) setStatus(s Status) error {
	if r.Status == StatusKilled {
		return fmt.Errorf("topology %q was killed", r.Name)
	}
	r.Status = s
	return nil
}

// update changes a topology record with optimistic concurrency.
func (a *Admin) update(name string, change func(*TopologyRecord) error) error {
	p, err := a.zk.Layout().Topology(name)
	if err != nil {
		return err
	}
	for {
		var rec TopologyRecord
		version, ok, err := a.zk.GetJSON(p, &rec)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%q: %w", name, ErrUnknownTopology)
		}
		if err := change(&rec); err != nil {
			return err
		}
		data, err := json.Marshal(&rec)
		if err != nil {
			return err
		}
		_, err = a.zk.Conn().Set(p, data, version)
		if errors.Is(err, zk.ErrBadVersion) {
			continue // changed under us: read again
		}
		if err != nil {
			return fmt.Errorf("update %q: %w", name, err)
		}
		return nil
	}
}
