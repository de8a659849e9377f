package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/refusal"
	"github.com/squall-stream/squall/topology"
)

// topologyRuntime is what the tasks of one running topology share. pids and
// tasks are written before any task is activated and only read after.
type topologyRuntime struct {
	conf   topology.Config
	topo   *topology.Topology
	system *actor.ActorSystem
	log    *slog.Logger
	pids   []*actor.PID // by task id
	tasks  []*executor  // by task id; nil for tasks on other nodes
	// remote marks the tasks on other nodes.
	remote []bool
	// pooled marks the tasks whose input batches are recycled: those on
	// other nodes (the sender's batch is done once encoded), and bolts that
	// keep no input (releasesInput). Who releases them: see
	// the top of outbox.go.
	pooled []bool
	// cycles[src][dst] is true when an edge from component src to dst
	// closes a cycle of the topology.
	cycles map[string]map[string]bool
	// local reports whether a task runs in this process; LocalOrShuffle
	// grouping prefers those.
	local func(task int) bool
	// peers are the addresses of the other nodes that run tasks of the
	// topology: the only ones whose ack batches a spout task takes.
	peers map[string]bool
	// refusals logs what the tasks refuse from other nodes.
	refusals *refusal.Log
}

func (rt *topologyRuntime) send(pid *actor.PID, msg any) { rt.system.Root.Send(pid, msg) }

func (rt *topologyRuntime) closesCycle(src, dst string) bool { return rt.cycles[src][dst] }

// findCycleEdges marks each edge src→dst where src is reachable from dst:
// such an edge closes a cycle, and blocking on it could deadlock.
func findCycleEdges(topo *topology.Topology) map[string]map[string]bool {
	next := make(map[string][]string)
	for _, c := range topo.Components() {
		for _, in := range c.Inputs {
			next[in.Component] = append(next[in.Component], c.ID)
		}
	}
	reaches := func(from, to string) bool {
		seen := map[string]bool{from: true}
		stack := []string{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == to {
				return true
			}
			for _, m := range next[n] {
				if !seen[m] {
					seen[m] = true
					stack = append(stack, m)
				}
			}
		}
		return false
	}
	cycles := make(map[string]map[string]bool)
	for src, dsts := range next {
		for _, dst := range dsts {
			if reaches(dst, src) {
				if cycles[src] == nil {
					cycles[src] = make(map[string]bool)
				}
				cycles[src][dst] = true
			}
		}
	}
	return cycles
}
