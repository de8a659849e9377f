// Package promexport exports the task metrics of running topologies to
// Prometheus: a collector, and a handler to scrape. It is the runtime's only
// tie to Prometheus, so that a program that embeds the runtime does not link
// the Prometheus client unless it serves /metrics.
package promexport

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/squall-stream/squall/actors"
)

// Topologies returns, at each scrape, the component metrics of the
// topologies to export, by topology name (as actors.LocalTopology.Metrics
// gives them).
type Topologies func() map[string][]actors.ComponentMetrics

// taskMetric is one per-task series of the Prometheus export.
type taskMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*actors.TaskMetrics) float64
	spout bool // spouts only
}

var taskLabels = []string{"topology", "component", "task"}

func newTaskMetric(name, help string, kind prometheus.ValueType, value func(*actors.TaskMetrics) float64) taskMetric {
	return taskMetric{desc: prometheus.NewDesc(name, help, taskLabels, nil), kind: kind, value: value}
}

// taskMetrics are the series, one per actors.TaskMetrics field, named as
// Prometheus wants (units in the name, _total for counters).
var taskMetrics = []taskMetric{
	newTaskMetric("squall_tuples_emitted_total", "Tuples emitted by the task.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Emitted) }),
	newTaskMetric("squall_tuples_transferred_total", "Tuple copies sent to target tasks.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Transferred) }),
	newTaskMetric("squall_tuples_executed_total", "Tuples a bolt task executed.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Executed) }),
	newTaskMetric("squall_tuples_acked_total", "Bolt: input tuples acked. Spout: tuple trees completed.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Acked) }),
	newTaskMetric("squall_tuples_failed_total", "Bolt: input tuples failed. Spout: tuple trees failed or timed out.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Failed) }),
	newTaskMetric("squall_task_restarts_total", "Crashes the task was restarted after.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Restarts) }),
	newTaskMetric("squall_task_errors_total", "Errors the task reported, and emits it had refused.", prometheus.CounterValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Errors) }),
	newTaskMetric("squall_execute_latency_seconds", "Mean time a bolt task spends in Execute.", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return m.ExecuteLatency.Seconds() }),
	newTaskMetric("squall_process_latency_seconds", "Mean time from a bolt task taking a tuple up to acking it (sampled).", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return m.ProcessLatency.Seconds() }),
	newTaskMetric("squall_task_capacity_ratio", "Share of wall time the task spent executing, over the last "+actors.CapacityWindow.String()+" or more.", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return m.Capacity }),
	newTaskMetric("squall_task_queue_depth", "Tuples waiting for the task.", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.QueueDepth) }),
	spoutMetric(newTaskMetric("squall_complete_latency_seconds", "Mean time from a spout's emit to its tuple tree completing.", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return m.CompleteLatency.Seconds() })),
	spoutMetric(newTaskMetric("squall_spout_pending", "Tuple trees of the spout task in flight.", prometheus.GaugeValue,
		func(m *actors.TaskMetrics) float64 { return float64(m.Pending) })),
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

// collector exports the task metrics of running topologies.
type collector struct {
	topologies Topologies
}

// NewCollector returns a Prometheus collector of the task metrics of the
// topologies topologies returns at each scrape: the counters and gauges of
// actors.TaskMetrics, labelled topology, component and task. Register it
// with a prometheus.Registry and serve that with promhttp.
func NewCollector(topologies Topologies) prometheus.Collector {
	return collector{topologies: topologies}
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range taskMetrics {
		ch <- m.desc
	}
	ch <- streamEmitted
	ch <- streamTransferred
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for name, comps := range c.topologies() {
		for _, comp := range comps {
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

// NewHandler returns an HTTP handler for Prometheus to scrape: the task
// metrics of NewCollector and the Go runtime's and the process's metrics, in
// a registry of its own.
func NewHandler(topologies Topologies) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(topologies),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
