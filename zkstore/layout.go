package zkstore

import (
	"fmt"
	"path"

	"github.com/squall-stream/squall/topology"
)

// Layout is where squall keeps each record under its root (DESIGN §5).
// Liveness is a node's ephemeral znode, not heartbeats written to
// ZooKeeper.
//
//	<root>/nodes/<id>          ephemeral, the node's registration
//	<root>/leader/n_<seq>      ephemeral sequential, data = node id; lowest leads
//	<root>/topologies/<name>   what was submitted, and its status
//	<root>/assignments/<name>  which node runs each task
//	<root>/offsets/<topology>/<spout>/<topic>/<partition>  the Kafka spouts' offsets
type Layout struct{ root string }

// Dir is a directory right under the root. It is a type of its own so
// that only the constants below, never a name from outside, can be one.
type Dir string

// The directories under the root that the cluster keeps.
const (
	NodesDir       Dir = "nodes"
	LeaderDir      Dir = "leader"
	TopologiesDir  Dir = "topologies"
	AssignmentsDir Dir = "assignments"
)

// offsetsDir is where Offsets keeps the Kafka spouts' offsets.
const offsetsDir Dir = "offsets"

// LeaderCandidate is the kind of the names under LeaderDir.
const LeaderCandidate topology.NameKind = "leader candidate"

// The kinds of the names below offsetsDir that are not topology's.
const (
	kafkaTopic     topology.NameKind = "Kafka topic"
	kafkaPartition topology.NameKind = "partition"
)

// elem is one element of a znode path below a directory: a name, and what
// it names.
type elem struct {
	kind topology.NameKind
	name string
}

// newLayout takes the root only as an absolute, clean path, so that what
// is below it in a path is below it in ZooKeeper.
func newLayout(root string) (Layout, error) {
	if !path.IsAbs(root) || path.Clean(root) != root {
		return Layout{}, fmt.Errorf("ZooKeeper root %q: want an absolute path such as %s, with no \".\" or \"..\" and no '/' at the end", root, DefaultRoot)
	}
	return Layout{root: root}, nil
}

// path makes every znode path below a directory. Each name must pass
// topology.ValidateName, so no name reaches outside its place, wherever it
// came from: an entrance that forgot to check it, or ZooKeeper itself.
func (l Layout) path(d Dir, names ...elem) (string, error) {
	elems := []string{l.root, string(d)}
	for _, n := range names {
		if err := topology.ValidateName(n.kind, n.name); err != nil {
			return "", err
		}
		elems = append(elems, n.name)
	}
	return path.Join(elems...), nil
}

// Dir is the path of a directory under the root.
func (l Layout) Dir(d Dir) string { return path.Join(l.root, string(d)) }

// Node is the path of a node's registration.
func (l Layout) Node(id string) (string, error) {
	return l.path(NodesDir, elem{topology.NodeID, id})
}

// Topology is the path of a submitted topology's record.
func (l Layout) Topology(name string) (string, error) {
	return l.path(TopologiesDir, elem{topology.TopologyName, name})
}

// Assignment is the path of a topology's assignment.
func (l Layout) Assignment(name string) (string, error) {
	return l.path(AssignmentsDir, elem{topology.TopologyName, name})
}

// Candidate is the path of a leader candidate, given its name.
func (l Layout) Candidate(c string) (string, error) {
	return l.path(LeaderDir, elem{LeaderCandidate, c})
}

// NewCandidate is the prefix ZooKeeper appends a new candidate's sequence
// to.
func (l Layout) NewCandidate() string { return path.Join(l.Dir(LeaderDir), "n_") }

func (l Layout) dirs() []string {
	return []string{l.root, l.Dir(NodesDir), l.Dir(LeaderDir), l.Dir(TopologiesDir), l.Dir(AssignmentsDir)}
}

// offsetKinds are the kinds of the names below offsets/, in path order.
var offsetKinds = [...]topology.NameKind{topology.TopologyName, topology.ComponentID, kafkaTopic, kafkaPartition}

// offsets is the path of a topology's stored offsets, given its name, or
// of a spout's part of them (the spout's id as well), a topic's part of
// that, or one partition's.
func (l Layout) offsets(names ...string) (string, error) {
	ns := make([]elem, len(names))
	for i, n := range names {
		ns[i] = elem{offsetKinds[i], n}
	}
	return l.path(offsetsDir, ns...)
}
