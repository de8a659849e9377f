package cluster

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"time"

	"github.com/squall-stream/squall/topology"
)

// DefaultRoot is the ZooKeeper path everything squall keeps lives under.
const DefaultRoot = "/squall"

// The ZooKeeper layout (DESIGN §5). Liveness is a node's ephemeral znode,
// not heartbeats written to ZooKeeper.
//
//	<root>/nodes/<id>          ephemeral NodeInfo
//	<root>/leader/n_<seq>      ephemeral sequential, data = node id; lowest leads
//	<root>/topologies/<name>   TopologyRecord: what was submitted, and its status
//	<root>/assignments/<name>  Assignment: which node runs each task
//	<root>/offsets/<topology>/<spout>/<topic>/<partition>  the Kafka spouts' offsets
type layout struct{ root string }

// dir is a directory right under the root. It is a type of its own so
// that only the constants below, never a name from outside, can be one.
type dir string

const (
	nodesDir       dir = "nodes"
	leaderDir      dir = "leader"
	topologiesDir  dir = "topologies"
	assignmentsDir dir = "assignments"
	offsetsDir     dir = "offsets"
)

// The kinds of the names in znode paths that are not topology's.
const (
	kafkaTopic      topology.NameKind = "Kafka topic"
	kafkaPartition  topology.NameKind = "partition"
	leaderCandidate topology.NameKind = "leader candidate"
)

// elem is one element of a znode path below a directory: a name, and what
// it names.
type elem struct {
	kind topology.NameKind
	name string
}

// newLayout takes the root only as an absolute, clean path, so that what
// is below it in a path is below it in ZooKeeper.
func newLayout(root string) (layout, error) {
	if !path.IsAbs(root) || path.Clean(root) != root {
		return layout{}, fmt.Errorf("ZooKeeper root %q: want an absolute path such as %s, with no \".\" or \"..\" and no '/' at the end", root, DefaultRoot)
	}
	return layout{root: root}, nil
}

// path makes every znode path below a directory. Each name must pass
// topology.ValidateName, so no name reaches outside its place, wherever it
// came from: an entrance that forgot to check it, or ZooKeeper itself.
func (l layout) path(d dir, names ...elem) (string, error) {
	elems := []string{l.root, string(d)}
	for _, n := range names {
		if err := topology.ValidateName(n.kind, n.name); err != nil {
			return "", err
		}
		elems = append(elems, n.name)
	}
	return path.Join(elems...), nil
}

func (l layout) dir(d dir) string { return path.Join(l.root, string(d)) }

func (l layout) node(id string) (string, error) {
	return l.path(nodesDir, elem{topology.NodeID, id})
}
func (l layout) topology(n string) (string, error) {
	return l.path(topologiesDir, elem{topology.TopologyName, n})
}
func (l layout) assignment(n string) (string, error) {
	return l.path(assignmentsDir, elem{topology.TopologyName, n})
}
func (l layout) candidate(c string) (string, error) {
	return l.path(leaderDir, elem{leaderCandidate, c})
}
func (l layout) dirs() []string {
	return []string{l.root, l.dir(nodesDir), l.dir(leaderDir), l.dir(topologiesDir), l.dir(assignmentsDir)}
}

// offsetKinds are the kinds of the names below offsets/, in path order.
var offsetKinds = [...]topology.NameKind{topology.TopologyName, topology.ComponentID, kafkaTopic, kafkaPartition}

// offsets is the path of a topology's stored offsets, given its name, or
// of a spout's part of them (the spout's id as well), a topic's part of
// that, or one partition's.
func (l layout) offsets(names ...string) (string, error) {
	ns := make([]elem, len(names))
	for i, n := range names {
		ns[i] = elem{offsetKinds[i], n}
	}
	return l.path(offsetsDir, ns...)
}

// newCandidate is the prefix ZooKeeper appends a candidate's sequence to.
func (l layout) newCandidate() string { return path.Join(l.dir(leaderDir), "n_") }

// NodeInfo is what a node registers.
type NodeInfo struct {
	ID      string    `json:"id"`
	Addr    string    `json:"addr"`
	Metrics string    `json:"metrics,omitempty"` // the metrics server's address
	Slots   int       `json:"slots"`
	Started time.Time `json:"started"`
	// Transport is the security of the node's transport (Transport.Mode);
	// the leader gives tasks only to nodes of its own. Empty means plaintext
	// (nodes that registered before nodes published it).
	Transport string `json:"transport,omitempty"`
}

// transportMode is the node's transport security, empty read as plaintext.
func (i NodeInfo) transportMode() string {
	if i.Transport == "" {
		return TransportPlaintext
	}
	return i.Transport
}

// Status of a submitted topology.
type Status string

// Topology statuses.
const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
	StatusKilled   Status = "killed"
)

// TopologyRecord is a submitted topology.
type TopologyRecord struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Workers is how many nodes to spread the topology over; 0 means all.
	Workers int `json:"workers,omitempty"`
	// Settings are the user settings (`--set key=value`).
	Settings map[string]string `json:"settings,omitempty"`
	// Parallelism overrides components' parallelism (rebalance).
	Parallelism map[string]int `json:"parallelism,omitempty"`
	// KillWait is how long nodes let trees drain after a kill.
	KillWait  Duration  `json:"killWait,omitempty"`
	Submitted time.Time `json:"submitted"`
	// Version grows with every change of the record that needs new tasks.
	Version int64 `json:"version"`
}

// Assignment places a topology's tasks on nodes.
type Assignment struct {
	Topology string `json:"topology"`
	// Version changes whenever the placement or the topology record's
	// version does; nodes restart their share when it changes.
	Version int64 `json:"version"`
	// RecordVersion is the TopologyRecord version this assignment is for.
	RecordVersion int64 `json:"recordVersion"`
	// Tasks maps task id to node id.
	Tasks map[int]string `json:"tasks"`
	// Nodes maps node id to its transport address.
	Nodes map[string]string `json:"nodes"`
}

// NodesUsed returns the ids of the nodes that run a task, sorted.
func (a *Assignment) NodesUsed() []string {
	set := map[string]bool{}
	for _, n := range a.Tasks {
		set[n] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Duration is a time.Duration that reads and writes JSON as "30s".
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}
