package actors

import (
	"testing"
	"time"
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
