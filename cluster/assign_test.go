package cluster

import (
	"testing"
)

func tasksUpTo(n int) []int {
	t := make([]int, n)
	for i := range t {
		t[i] = i + 1
	}
	return t
}

func loads(m map[int]string) map[string]int {
	l := map[string]int{}
	for _, n := range m {
		l[n]++
	}
	return l
}

func TestAssignSpreadsEvenly(t *testing.T) {
	l := loads(assign(tasksUpTo(10), []string{"a", "b", "c"}, 0, nil))
	for _, n := range []string{"a", "b", "c"} {
		if l[n] < 3 || l[n] > 4 {
			t.Fatalf("loads %v: not even", l)
		}
	}
}

func TestAssignMovesOnlyTheLostNodesTasks(t *testing.T) {
	tasks := assign(tasksUpTo(9), []string{"a", "b", "c"}, 0, nil)
	next := assign(tasksUpTo(9), []string{"a", "c"}, 0, &Assignment{Tasks: tasks})
	for task, n := range tasks {
		if n != "b" && next[task] != n {
			t.Fatalf("task %d moved from %s to %s though %s is alive", task, n, next[task], n)
		}
		if next[task] == "b" {
			t.Fatalf("task %d still on the lost node", task)
		}
	}
	if l := loads(next); l["a"] < 4 || l["c"] < 4 {
		t.Fatalf("after losing b: %v", l)
	}
	// b comes back: it gets work again, and only some tasks move.
	back := assign(tasksUpTo(9), []string{"a", "b", "c"}, 0, &Assignment{Tasks: next})
	if l := loads(back); l["b"] == 0 || l["a"] > 3 || l["c"] > 3 {
		t.Fatalf("after b rejoined: %v", l)
	}
}

func TestAssignHonoursWorkers(t *testing.T) {
	if l := loads(assign(tasksUpTo(6), []string{"a", "b", "c"}, 2, nil)); len(l) != 2 {
		t.Fatalf("workers 2: tasks on %v", l)
	}
	// Prefers the nodes it ran on.
	prev := &Assignment{Tasks: map[int]string{1: "c", 2: "b"}}
	if l := loads(assign(tasksUpTo(6), []string{"a", "b", "c"}, 2, prev)); l["b"] != 3 || l["c"] != 3 {
		t.Fatalf("tasks on %v, want them on the nodes it already ran on, b and c", l)
	}
}
