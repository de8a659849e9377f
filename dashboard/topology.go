package dashboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/topology"
)

// Topology is one topology the topology page shows, as Options.Topologies
// returns it.
type Topology struct {
	Name string
	// Status is the topology's status ("active", "inactive", …); empty
	// when there is none to tell, as for a topology run in-process.
	Status     string
	Components []actors.ComponentMetrics
	// Unreachable names the places whose tasks the figures leave out (the
	// cluster nodes that did not answer).
	Unreachable []string
	// TaskNodes says where each task runs (task id to node id), when known.
	TaskNodes map[int]string
	// Topology is what runs, for the page to draw its components and
	// streams (Storm UI's visualization); nil when it is not known.
	Topology *topology.Topology
}

// InProcess is Options.Topologies for one topology running in this
// process: its name, the topology, and its Metrics method.
func InProcess(name string, topo *topology.Topology, metrics func() []actors.ComponentMetrics) func(context.Context) ([]Topology, error) {
	return func(context.Context) ([]Topology, error) {
		return []Topology{{Name: name, Components: metrics(), Topology: topo}}, nil
	}
}

// TopologiesView is what the topology page shows: /api/topologies.
type TopologiesView struct {
	Topologies []TopologyView `json:"topologies"`
	// Actions says whether the page offers activate, deactivate and kill.
	Actions bool `json:"actions,omitempty"`
	// Error says why the topologies could not be read; "" when they were.
	Error string `json:"error,omitempty"`
}

// TopologyView is one topology of the page.
type TopologyView struct {
	Name        string          `json:"name"`
	Status      string          `json:"status,omitempty"`
	Components  []ComponentView `json:"components"`
	Unreachable []string        `json:"unreachable,omitempty"`
	// Edges are the topology's subscriptions, for drawing it; absent when
	// the topology is not known.
	Edges []EdgeView `json:"edges,omitempty"`
}

// EdgeView is one subscription: the tuples of From's Stream go to To's
// tasks by Grouping ("shuffle", "fields(province)", …).
type EdgeView struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Stream   string `json:"stream"`
	Grouping string `json:"grouping"`
}

// edges lists the subscriptions of topo, by subscribing bolt in
// declaration order.
func edges(topo *topology.Topology) []EdgeView {
	var out []EdgeView
	for _, c := range topo.Components() {
		for _, in := range c.Inputs {
			g := in.Grouping.Kind.String()
			if len(in.Grouping.Fields) > 0 {
				g = fmt.Sprintf("%s(%s)", g, strings.Join(in.Grouping.Fields, ", "))
			}
			out = append(out, EdgeView{From: in.Component, To: c.ID, Stream: in.Stream, Grouping: g})
		}
	}
	return out
}

// ComponentView is one component's row, as the Storm UI shows it; Tasks
// counts its tasks and TaskList gives each one's figures.
type ComponentView struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Tasks int    `json:"tasks"`
	Figures
	TaskList []TaskView `json:"taskList"`
	// Streams split Emitted and Transferred by output stream.
	Streams []StreamView `json:"streams,omitempty"`
}

// StreamView is a component's counts on one output stream.
type StreamView struct {
	Stream      string `json:"stream"`
	Emitted     int64  `json:"emitted"`
	Transferred int64  `json:"transferred"`
}

// TaskView is one task's row.
type TaskView struct {
	Task int `json:"task"`
	// Node is where the task runs; "" when it is not known.
	Node string `json:"node,omitempty"`
	Figures
}

// Figures are the counters and gauges of a task or a component.
type Figures struct {
	Emitted         int64   `json:"emitted"`
	Transferred     int64   `json:"transferred"`
	Executed        int64   `json:"executed"`
	Acked           int64   `json:"acked"`
	Failed          int64   `json:"failed"`
	ExecuteLatency  float64 `json:"executeLatencyMs"`
	ProcessLatency  float64 `json:"processLatencyMs"`
	CompleteLatency float64 `json:"completeLatencyMs"`
	Capacity        float64 `json:"capacity"`
	QueueDepth      int64   `json:"queueDepth"`
	Pending         int64   `json:"pending"`
	Restarts        int64   `json:"restarts"`
	Errors          int64   `json:"errors"`
	// LastError and LastErrorAt are the latest error or crash, as Storm
	// UI's "Last error"; absent when there was none.
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
}

func figures(m *actors.TaskMetrics) Figures {
	return Figures{
		Emitted: m.Emitted, Transferred: m.Transferred, Executed: m.Executed,
		Acked: m.Acked, Failed: m.Failed,
		ExecuteLatency: ms(m.ExecuteLatency), ProcessLatency: ms(m.ProcessLatency), CompleteLatency: ms(m.CompleteLatency),
		Capacity: m.Capacity, QueueDepth: m.QueueDepth, Pending: m.Pending,
		Restarts: m.Restarts, Errors: m.Errors,
		LastError: m.LastError, LastErrorAt: m.LastErrorAt,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *Server) topologies(ctx context.Context) TopologiesView {
	v := TopologiesView{Topologies: []TopologyView{}, Actions: s.opts.Actions != nil}
	if s.opts.Topologies == nil {
		return v
	}
	tops, err := s.opts.Topologies(ctx)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	for _, t := range tops {
		tv := TopologyView{Name: t.Name, Status: t.Status, Components: []ComponentView{}, Unreachable: t.Unreachable}
		if t.Topology != nil {
			tv.Edges = edges(t.Topology)
		}
		for _, c := range t.Components {
			kind := "bolt"
			if c.Spout {
				kind = "spout"
			}
			cv := ComponentView{ID: c.Component, Kind: kind, Tasks: len(c.Tasks), Figures: figures(&c.TaskMetrics), TaskList: []TaskView{}}
			for _, st := range c.Streams {
				cv.Streams = append(cv.Streams, StreamView{Stream: st.Stream, Emitted: st.Emitted, Transferred: st.Transferred})
			}
			for i := range c.Tasks {
				task := &c.Tasks[i]
				cv.TaskList = append(cv.TaskList, TaskView{Task: task.Task, Node: t.TaskNodes[task.Task], Figures: figures(task)})
			}
			tv.Components = append(tv.Components, cv)
		}
		v.Topologies = append(v.Topologies, tv)
	}
	return v
}
