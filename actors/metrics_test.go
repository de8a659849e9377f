package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// Capacity is measured over windows of at least CapacityWindow, so readers
// polling at different rates see the same figure instead of shortening
// each other's window.
func TestCapacityWindowIsSharedByReaders(t *testing.T) {
	start := time.Unix(1000, 0)
	w := metricsWindow{at: start}
	busy := func(ms int64) map[int]int64 { return map[int]int64{7: ms * int64(time.Millisecond)} }

	// Before a full window: the share since the start, provisionally.
	if got := w.capacities(start.Add(time.Second), busy(500))[7]; got != 0.5 {
		t.Fatalf("capacity after 1s, 500ms busy = %v, want 0.5", got)
	}
	// A full window: 2.5 s busy of 5 s.
	if got := w.capacities(start.Add(CapacityWindow), busy(2500))[7]; got != 0.5 {
		t.Fatalf("capacity of the first window = %v, want 0.5", got)
	}
	// A reader right after gets the same figure, though the task has been
	// fully busy since: the window is not cut short.
	if got := w.capacities(start.Add(CapacityWindow+time.Second), busy(3500))[7]; got != 0.5 {
		t.Fatalf("capacity read 1s into the next window = %v, want the last window's 0.5", got)
	}
	// The next full window: busy all along.
	if got := w.capacities(start.Add(2*CapacityWindow), busy(7500))[7]; got != 1 {
		t.Fatalf("capacity of the second window = %v, want 1", got)
	}
}

// A component's last error is the latest of its tasks', wherever they run.
func TestMergeComponentsKeepsTheLatestError(t *testing.T) {
	at := time.Unix(1000, 0)
	nodeA := []ComponentMetrics{{Component: "writer", Tasks: []TaskMetrics{
		{Task: 1, Errors: 1, LastError: "redis: timeout", LastErrorAt: at.Add(2 * time.Second)},
		{Task: 2},
	}}}
	nodeB := []ComponentMetrics{{Component: "writer", Tasks: []TaskMetrics{
		{Task: 3, Errors: 2, LastError: "redis: connection refused", LastErrorAt: at.Add(time.Second)},
	}}}
	m := MergeComponents(nodeA, nodeB)
	if len(m) != 1 || m[0].Errors != 3 || m[0].LastError != "redis: timeout" || !m[0].LastErrorAt.Equal(at.Add(2*time.Second)) {
		t.Fatalf("merged: %+v", m)
	}
}

// byParity passes each tuple's id on on the stream of its parity.
func byParity(t *topology.Tuple, out topology.BasicOutputCollector) error {
	id := t.Int64ByField("id")
	stream := "odd"
	if id%2 == 0 {
		stream = "even"
	}
	return out.EmitTo(stream, topology.Values{id})
}

// Emitted and Transferred split by output stream, as Storm UI's output
// stats, per task and summed over tasks and nodes.
func TestMetricsSplitByStream(t *testing.T) {
	const n = 2000
	l := newLedger(n)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("split", streamFunc(topology.NewFields("id"), byParity, "even", "odd"), 2).ShuffleGrouping("spout")
	sink := topologytest.BasicFunc(nil, ackAll)
	b.SetBolt("evens", sink, 2).Grouping("split", "even", topology.Grouping{Kind: topology.GroupingAll})
	b.SetBolt("odds", sink, 1).Grouping("split", "odd", topology.Grouping{Kind: topology.GroupingShuffle})
	lt := run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	want := []StreamMetrics{{Stream: "even", Emitted: n / 2, Transferred: n}, {Stream: "odd", Emitted: n / 2, Transferred: n / 2}}
	check.For(t, 2*time.Second, func() error {
		if m, _ := lt.Component("split"); !slices.Equal(m.Streams, want) {
			return fmt.Errorf("stream counts %+v, want %+v", m.Streams, want)
		}
		return nil
	})
	m, _ := lt.Component("split")
	var perTask int64
	for _, task := range m.Tasks {
		perTask += task.Streams[0].Emitted + task.Streams[1].Emitted
	}
	if perTask != n {
		t.Fatalf("tasks' stream counts sum to %d, want %d", perTask, n)
	}
	if merged := MergeComponents([]ComponentMetrics{{Component: "split", Tasks: m.Tasks[:1]}}, []ComponentMetrics{{Component: "split", Tasks: m.Tasks[1:]}}); !slices.Equal(merged[0].Streams, want) {
		t.Fatalf("merged over two nodes: %+v, want %+v", merged[0].Streams, want)
	}
}
