package cluster

import (
	"sort"
)

// assign places every task of a topology on one of the chosen nodes. It is
// stable: a task stays on its node when that node
// is still chosen and not over its share, so a node joining or leaving moves
// only the tasks it must. nodes must be sorted and non-empty; workers = 0
// uses them all.
func assign(tasks []int, nodes []string, workers int, prev *Assignment) map[int]string {
	chosen := chooseNodes(nodes, workers, prev)
	share := (len(tasks) + len(chosen) - 1) / len(chosen)
	load := make(map[string]int, len(chosen))
	in := make(map[string]bool, len(chosen))
	for _, n := range chosen {
		in[n] = true
	}
	out := make(map[int]string, len(tasks))
	var homeless []int
	for _, t := range tasks {
		if prev != nil {
			if n, ok := prev.Tasks[t]; ok && in[n] && load[n] < share {
				out[t] = n
				load[n]++
				continue
			}
		}
		homeless = append(homeless, t)
	}
	for _, t := range homeless {
		best := chosen[0]
		for _, n := range chosen[1:] {
			if load[n] < load[best] {
				best = n
			}
		}
		out[t] = best
		load[best]++
	}
	return out
}

// chooseNodes picks workers nodes, preferring those that already ran the
// topology.
func chooseNodes(nodes []string, workers int, prev *Assignment) []string {
	if workers <= 0 || workers >= len(nodes) {
		return append([]string(nil), nodes...)
	}
	used := map[string]bool{}
	if prev != nil {
		for _, n := range prev.NodesUsed() {
			used[n] = true
		}
	}
	sorted := append([]string(nil), nodes...)
	sort.SliceStable(sorted, func(i, j int) bool { return used[sorted[i]] && !used[sorted[j]] })
	chosen := sorted[:workers]
	sort.Strings(chosen)
	return chosen
}
