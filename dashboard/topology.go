package dashboard

import (
	"time"
)

// TopologyView is what the topology page shows: /api/topology.
type TopologyView struct {
	Name       string          `json:"name"`
	Running    bool            `json:"running"`
	Components []ComponentView `json:"components"`
}

// ComponentView is one component's row, as the Storm UI shows it.
type ComponentView struct {
	ID              string  `json:"id"`
	Kind            string  `json:"kind"`
	Tasks           int     `json:"tasks"`
	Emitted         int64   `json:"emitted"`
	Transferred     int64   `json:"transferred"`
	Executed        int64   `json:"executed"`
	Acked           int64   `json:"acked"`
	Failed          int64   `json:"failed"`
	ExecuteLatency  float64 `json:"executeLatencyMs"`
	CompleteLatency float64 `json:"completeLatencyMs"`
	Capacity        float64 `json:"capacity"`
	QueueDepth      int64   `json:"queueDepth"`
	Pending         int64   `json:"pending"`
	Restarts        int64   `json:"restarts"`
	Errors          int64   `json:"errors"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *Server) topology() TopologyView {
	v := TopologyView{Name: s.opts.Topology, Components: []ComponentView{}}
	if s.opts.Metrics == nil {
		return v
	}
	v.Running = true
	for _, c := range s.opts.Metrics() {
		kind := "bolt"
		if c.Spout {
			kind = "spout"
		}
		v.Components = append(v.Components, ComponentView{
			ID: c.Component, Kind: kind, Tasks: len(c.Tasks),
			Emitted: c.Emitted, Transferred: c.Transferred, Executed: c.Executed,
			Acked: c.Acked, Failed: c.Failed,
			ExecuteLatency: ms(c.ExecuteLatency), CompleteLatency: ms(c.CompleteLatency),
			Capacity: c.Capacity, QueueDepth: c.QueueDepth, Pending: c.Pending,
			Restarts: c.Restarts, Errors: c.Errors,
		})
	}
	return v
}
