package actors

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// taskMetric is one per-task series of the Prometheus export.
type taskMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*TaskMetrics) float64
	spout bool // spouts only
}

var taskLabels = []string{"topology", "component", "task"}

func newTaskMetric(name, help string, kind prometheus.ValueType, value func(*TaskMetrics) float64) taskMetric {
	return taskMetric{desc: prometheus.NewDesc(name, help, taskLabels, nil), kind: kind, value: value}
}

// taskMetrics are the series, one per TaskMetrics field, named as
// Prometheus wants (units in the name, _total for counters).
var taskMetrics = []taskMetric{
	newTaskMetric("squall_tuples_emitted_total", "Tuples emitted by the task.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Emitted) }),
	newTaskMetric("squall_tuples_transferred_total", "Tuple copies sent to target tasks.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Transferred) }),
	newTaskMetric("squall_tuples_executed_total", "Tuples a bolt task executed.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Executed) }),
	newTaskMetric("squall_tuples_acked_total", "Bolt: input tuples acked. Spout: tuple trees completed.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Acked) }),
	newTaskMetric("squall_tuples_failed_total", "Bolt: input tuples failed. Spout: tuple trees failed or timed out.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Failed) }),
	newTaskMetric("squall_task_restarts_total", "Crashes the task was restarted after.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Restarts) }),
	newTaskMetric("squall_task_errors_total", "Errors the task reported, and emits it had refused.", prometheus.CounterValue,
		func(m *TaskMetrics) float64 { return float64(m.Errors) }),
	newTaskMetric("squall_execute_latency_seconds", "Mean time a bolt task spends in Execute.", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return m.ExecuteLatency.Seconds() }),
	newTaskMetric("squall_process_latency_seconds", "Mean time from a bolt task taking a tuple up to acking it (sampled).", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return m.ProcessLatency.Seconds() }),
	newTaskMetric("squall_task_capacity_ratio", "Share of wall time the task spent executing, over the last "+CapacityWindow.String()+" or more.", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return m.Capacity }),
	newTaskMetric("squall_task_queue_depth", "Tuples waiting for the task.", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return float64(m.QueueDepth) }),
	spoutMetric(newTaskMetric("squall_complete_latency_seconds", "Mean time from a spout's emit to its tuple tree completing.", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return m.CompleteLatency.Seconds() })),
	spoutMetric(newTaskMetric("squall_spout_pending", "Tuple trees of the spout task in flight.", prometheus.GaugeValue,
		func(m *TaskMetrics) float64 { return float64(m.Pending) })),
}

// The per-stream split of the emitted and transferred counters.
var (
	streamEmitted = prometheus.NewDesc("squall_stream_tuples_emitted_total", "Tuples emitted by the task on the stream.",
		append(taskLabels, "stream"), nil)
	streamTransferred = prometheus.NewDesc("squall_stream_tuples_transferred_total", "Tuple copies of the stream sent to target tasks.",
		append(taskLabels, "stream"), nil)
)

func spoutMetric(m taskMetric) taskMetric {
	m.spout = true
	return m
}

// prometheusCollector exports the task metrics of running topologies.
type prometheusCollector struct {
	topologies func() map[string]*LocalTopology
}

// NewPrometheusCollector returns a Prometheus collector of the task metrics
// of the topologies topologies returns (by name) at each scrape: the
// counters and gauges of TaskMetrics, labelled topology, component and
// task. Register it with a prometheus.Registry and serve that with promhttp.
func NewPrometheusCollector(topologies func() map[string]*LocalTopology) prometheus.Collector {
	return prometheusCollector{topologies: topologies}
}

func (c prometheusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range taskMetrics {
		ch <- m.desc
	}
	ch <- streamEmitted
	ch <- streamTransferred
}

func (c prometheusCollector) Collect(ch chan<- prometheus.Metric) {
	for name, lt := range c.topologies() {
		for _, comp := range lt.Metrics() {
			for i := range comp.Tasks {
				t := &comp.Tasks[i]
				task := strconv.Itoa(t.Task)
				for _, m := range taskMetrics {
					if m.spout && !comp.Spout {
						continue
					}
					ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(t), name, comp.Component, task)
				}
				for _, s := range t.Streams {
					ch <- prometheus.MustNewConstMetric(streamEmitted, prometheus.CounterValue, float64(s.Emitted), name, comp.Component, task, s.Stream)
					ch <- prometheus.MustNewConstMetric(streamTransferred, prometheus.CounterValue, float64(s.Transferred), name, comp.Component, task, s.Stream)
				}
			}
		}
	}
}

// NewPrometheusHandler returns an HTTP handler for Prometheus to scrape: the
// task metrics of NewPrometheusCollector and the Go runtime's and the
// process's metrics, in a registry of its own.
func NewPrometheusHandler(topologies func() map[string]*LocalTopology) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewPrometheusCollector(topologies),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
