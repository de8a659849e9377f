package cluster

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// The records the cluster keeps in ZooKeeper, each where zkstore.Layout
// says.

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
