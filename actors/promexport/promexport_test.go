package promexport

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/squall-stream/squall/actors"
)

// metrics are two topologies' figures, as two nodes' LocalTopology.Metrics
// would give them: a spout of two tasks, and a bolt.
var metrics = Topologies(func() map[string][]actors.ComponentMetrics {
	return map[string][]actors.ComponentMetrics{
		"orders": {
			{Component: "kafka", Spout: true, Tasks: []actors.TaskMetrics{
				{Task: 1, Emitted: 10, Transferred: 20, Acked: 9, Failed: 1, Pending: 3, CompleteLatency: 4 * time.Millisecond,
					Streams: []actors.StreamMetrics{{Stream: "default", Emitted: 10, Transferred: 20}}},
				{Task: 2, Emitted: 5, Transferred: 10, Acked: 5, Pending: 1,
					Streams: []actors.StreamMetrics{{Stream: "default", Emitted: 5, Transferred: 10}}},
			}},
			{Component: "sink", Tasks: []actors.TaskMetrics{
				{Task: 3, Executed: 30, Acked: 29, Failed: 1, ExecuteLatency: 250 * time.Microsecond, Capacity: 0.5, QueueDepth: 7, Restarts: 2, Errors: 3},
			}},
		},
		"audit": {
			{Component: "sink", Tasks: []actors.TaskMetrics{{Task: 1, Executed: 1}}},
		},
	}
})

// The collector gives each task's figures under its topology, component
// and task, spout-only series on spouts only, and each stream's split.
func TestCollectorExportsEachTask(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(metrics))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"squall_tuples_emitted_total component=kafka task=1 topology=orders":                           10,
		"squall_tuples_transferred_total component=kafka task=2 topology=orders":                       10,
		"squall_tuples_acked_total component=kafka task=1 topology=orders":                             9,
		"squall_tuples_failed_total component=sink task=3 topology=orders":                             1,
		"squall_tuples_executed_total component=sink task=3 topology=orders":                           30,
		"squall_tuples_executed_total component=sink task=1 topology=audit":                            1,
		"squall_execute_latency_seconds component=sink task=3 topology=orders":                         0.00025,
		"squall_complete_latency_seconds component=kafka task=1 topology=orders":                       0.004,
		"squall_task_capacity_ratio component=sink task=3 topology=orders":                             0.5,
		"squall_task_queue_depth component=sink task=3 topology=orders":                                7,
		"squall_spout_pending component=kafka task=2 topology=orders":                                  1,
		"squall_task_restarts_total component=sink task=3 topology=orders":                             2,
		"squall_task_errors_total component=sink task=3 topology=orders":                               3,
		"squall_stream_tuples_emitted_total component=kafka stream=default task=1 topology=orders":     10,
		"squall_stream_tuples_transferred_total component=kafka stream=default task=2 topology=orders": 10,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v", key, v, ok, want)
		}
	}
	for key := range got {
		if strings.HasPrefix(key, "squall_spout_pending component=sink") || strings.HasPrefix(key, "squall_complete_latency_seconds component=sink") {
			t.Errorf("a bolt exports a spout's series: %s", key)
		}
	}
}

// The handler serves the task metrics next to the Go runtime's.
func TestHandlerServesTasksAndRuntime(t *testing.T) {
	srv := httptest.NewServer(NewHandler(metrics))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`squall_tuples_executed_total{component="sink",task="3",topology="orders"} 30`, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
}
