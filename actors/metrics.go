package actors

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TaskMetrics are one task's counters and gauges, as Storm's UI shows them.
type TaskMetrics struct {
	Component string
	Task      int
	// Emitted counts tuples emitted; Transferred counts the copies sent to
	// target tasks (an emit to an all-grouped bolt of 4 tasks transfers 4).
	Emitted     int64
	Transferred int64
	// Executed counts tuples a bolt executed.
	Executed int64
	// Acked and Failed count, for a bolt, input tuples it acked and failed;
	// for a spout, trees that completed and trees that failed or timed out.
	Acked  int64
	Failed int64
	// ExecuteLatency is the mean time a bolt spends in Execute.
	ExecuteLatency time.Duration
	// ProcessLatency is the mean time from a bolt taking a tuple up to its
	// ack or fail, over a sample of one tuple in 20 (Storm's, sampled as
	// Storm does); above ExecuteLatency for a bolt that acks later.
	ProcessLatency time.Duration
	// CompleteLatency is the mean time from a spout's emit to its tree
	// completing.
	CompleteLatency time.Duration
	// Capacity is the share of wall time the task spent executing over the
	// last CapacityWindow or more (over the time since the start until one
	// has passed): near 1 means it is the bottleneck.
	Capacity float64
	// QueueDepth is the number of tuples waiting for the task.
	QueueDepth int64
	// Pending is, for a spout, the number of its trees in flight.
	Pending int64
	// Restarts counts crashes the task was restarted after; Errors counts
	// ReportError calls, failed emits and refused batches.
	Restarts int64
	Errors   int64
	// LastError is the latest of those errors and crashes, as Storm UI's
	// "Last error" shows it, and LastErrorAt when it happened; "" and the
	// zero time when there was none. A component's is its tasks' latest.
	LastError   string    `json:",omitempty"`
	LastErrorAt time.Time `json:",omitzero"`
	// Streams split Emitted and Transferred by output stream (Storm UI's
	// output stats), by stream id.
	Streams []StreamMetrics `json:",omitempty"`
}

// StreamMetrics are a task's or a component's counts on one output stream.
type StreamMetrics struct {
	Stream      string
	Emitted     int64
	Transferred int64
}

// ComponentMetrics sums a component's tasks.
type ComponentMetrics struct {
	Component string
	Spout     bool
	Tasks     []TaskMetrics
	TaskMetrics
}

// taskCounters are written by the task's goroutine and read by Metrics. The
// task counts into plain fields on its hot path and publishes them here once
// per batch. What it emits and transfers is counted by stream, on its
// routes; the task's totals are their sums.
type taskCounters struct {
	executed, acked, failed             atomic.Int64
	busyNanos, completeNanos, completed atomic.Int64
	processNanos, processed             atomic.Int64
	queued, pending, restarts, errors   atomic.Int64
	lastError                           atomic.Pointer[taskError]
}

// taskError is a task's last error or crash.
type taskError struct {
	msg string
	at  time.Time
}

// localCounts are a task's unpublished counts.
type localCounts struct {
	executed, acked, failed             int64
	busyNanos, completeNanos, completed int64
	processNanos, processed             int64
}

func (c *taskCounters) publish(l *localCounts) {
	if l.executed != 0 {
		c.executed.Add(l.executed)
	}
	if l.acked != 0 {
		c.acked.Add(l.acked)
	}
	if l.failed != 0 {
		c.failed.Add(l.failed)
	}
	if l.busyNanos != 0 {
		c.busyNanos.Add(l.busyNanos)
	}
	if l.completed != 0 {
		c.completed.Add(l.completed)
		c.completeNanos.Add(l.completeNanos)
	}
	if l.processed != 0 {
		c.processed.Add(l.processed)
		c.processNanos.Add(l.processNanos)
	}
	*l = localCounts{}
}

// CapacityWindow is the least time Capacity is measured over. Metrics
// read more often than that (a dashboard, and Prometheus, say) all get the
// capacities of the last full window, rather than shortening each other's.
const CapacityWindow = 5 * time.Second

// metricsWindow measures Capacity: busy time over wall time, by windows of
// at least CapacityWindow.
type metricsWindow struct {
	mu   sync.Mutex
	at   time.Time       // the start of the current window
	busy map[int]int64   // busy nanoseconds by task at its start
	last map[int]float64 // the capacities of the last full window
}

func (w *metricsWindow) capacities(now time.Time, busy map[int]int64) map[int]float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	wall := now.Sub(w.at)
	if wall < CapacityWindow && w.last != nil {
		return w.last
	}
	out := make(map[int]float64, len(busy))
	for task, b := range busy {
		if wall > 0 {
			out[task] = float64(b-w.busy[task]) / float64(wall)
		}
	}
	if wall >= CapacityWindow {
		w.at, w.busy, w.last = now, busy, out
	}
	return out
}

func meanDuration(nanos, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return time.Duration(nanos / n)
}

func sumComponent(c *ComponentMetrics) {
	sort.Slice(c.Tasks, func(i, j int) bool { return c.Tasks[i].Task < c.Tasks[j].Task })
	var execNanos, processNanos, completeNanos float64
	for _, t := range c.Tasks {
		c.Emitted += t.Emitted
		c.Transferred += t.Transferred
		c.Executed += t.Executed
		c.Acked += t.Acked
		c.Failed += t.Failed
		c.QueueDepth += t.QueueDepth
		c.Pending += t.Pending
		c.Restarts += t.Restarts
		c.Errors += t.Errors
		execNanos += float64(t.ExecuteLatency) * float64(t.Executed)
		processNanos += float64(t.ProcessLatency) * float64(t.Executed)
		completeNanos += float64(t.CompleteLatency) * float64(t.Acked)
		if t.Capacity > c.Capacity {
			c.Capacity = t.Capacity // Storm shows the busiest task's capacity
		}
		if t.LastErrorAt.After(c.LastErrorAt) {
			c.LastError, c.LastErrorAt = t.LastError, t.LastErrorAt
		}
		for _, s := range t.Streams {
			i := slices.IndexFunc(c.Streams, func(m StreamMetrics) bool { return m.Stream == s.Stream })
			if i < 0 {
				c.Streams = append(c.Streams, StreamMetrics{Stream: s.Stream})
				i = len(c.Streams) - 1
			}
			c.Streams[i].Emitted += s.Emitted
			c.Streams[i].Transferred += s.Transferred
		}
	}
	slices.SortFunc(c.Streams, func(a, b StreamMetrics) int { return strings.Compare(a.Stream, b.Stream) })
	if c.Executed > 0 {
		c.ExecuteLatency = time.Duration(execNanos / float64(c.Executed))
		c.ProcessLatency = time.Duration(processNanos / float64(c.Executed))
	}
	if c.Acked > 0 && c.Spout {
		c.CompleteLatency = time.Duration(completeNanos / float64(c.Acked))
	}
}

// MergeComponents merges the metrics of one topology's components read in
// several places (each node of a cluster runs some of a component's tasks)
// into one ComponentMetrics per component, in the order first seen.
func MergeComponents(parts ...[]ComponentMetrics) []ComponentMetrics {
	var out []ComponentMetrics
	index := make(map[string]int)
	for _, part := range parts {
		for _, c := range part {
			i, ok := index[c.Component]
			if !ok {
				i = len(out)
				index[c.Component] = i
				out = append(out, ComponentMetrics{Component: c.Component, Spout: c.Spout})
			}
			out[i].Tasks = append(out[i].Tasks, c.Tasks...)
		}
	}
	for i := range out {
		out[i].TaskMetrics.Component = out[i].Component
		sumComponent(&out[i])
	}
	return out
}
