package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Placement says which node runs each task of a topology. The zero value
// runs everything in this process.
type Placement struct {
	// Self is this node's protoactor remote address (host:port).
	Self string
	// Tasks maps each task id to the address of the node that runs it; a
	// task missing here runs on Self.
	Tasks map[int]string
}

func (p Placement) taskAddr(task int) string {
	if a, ok := p.Tasks[task]; ok {
		return a
	}
	return p.Self
}

func (p Placement) isLocal(addr string) bool { return addr == p.Self }

// The runtime's three messages between tasks go through these senders: to a
// task in this process as Go values, to a task on another node in their wire
// form over protoactor remote.

func (rt *topologyRuntime) sendBatch(target int, b *tupleBatch) {
	if !rt.remote[target] {
		rt.tasks[target].counters.queued.Add(int64(len(b.tuples)))
		rt.send(rt.pids[target], b)
		return
	}
	w, err := tupleFrame(rt.conf.Name, target, b)
	b.release()
	if err != nil {
		// Values were checked at emit time; only a failing registered codec
		// gets here. The tuples' trees time out and replay.
		rt.log.Error("cannot encode a tuple batch for a remote task; its tuples will time out and replay", "task", target, "err", err)
		return
	}
	rt.send(rt.pids[target], w)
}

func (rt *topologyRuntime) sendCredit(target int, c *credit) {
	if !rt.remote[target] {
		rt.send(rt.pids[target], c)
		return
	}
	rt.send(rt.pids[target], encodeCredit(rt.conf.Name, target, c))
}

func (rt *topologyRuntime) sendAcks(spoutTask int, b *ackBatch) {
	if !rt.remote[spoutTask] {
		rt.send(rt.pids[spoutTask], b)
		return
	}
	rt.send(rt.pids[spoutTask], encodeAckBatch(rt.conf.Name, spoutTask, b))
	b.release()
}

// pidOf is the PID of a task actor named name on the node at addr:
// the topology's supervisor is named after the topology, so every node can
// compute the PIDs of every other node's tasks.
func pidOf(addr, topologyName, name string) *actor.PID {
	return actor.NewPID(addr, topologyName+"/"+name)
}
