package actors

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
	gproto "google.golang.org/protobuf/proto"
)

// fuzzTasks is a spout task and a bolt task of spout → bolt, each with a
// sibling on the node at peerAddr, driven by hand: the fuzzer's messages go
// through the same checks and dispatch as a task actor's, on its goroutine,
// so a panic fails the fuzz rather than restarting a task.
type fuzzTasks struct {
	spout     *spoutTask
	bolt      *boltTask
	peerSpout int
	peerBolt  int
}

func newFuzzTasks(t testing.TB) *fuzzTasks {
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(0).Spout, 2)
	b.SetBolt("bolt", topologytest.BasicFunc(nil, func(tp *topology.Tuple, _ topology.BasicOutputCollector) error {
		_ = fmt.Sprint(tp.Values(), tp.Fields(), tp.Source()) // a bolt reads all it was given
		return nil
	}), 2).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	f := &fuzzTasks{peerSpout: topo.Tasks("spout")[1], peerBolt: topo.Tasks("bolt")[1]}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger() }))
	conf := topology.Config{Name: "fuzz", Logger: quietLogger()}.Defaults()
	rt := newRuntime(system, topo, conf, Placement{Self: selfAddr, Tasks: map[int]string{f.peerSpout: peerAddr, f.peerBolt: peerAddr}})
	for task, pid := range rt.pids {
		if pid == nil { // a local task: no actor runs it here, what it is sent is dead letters
			rt.pids[task] = system.NewLocalPID(fmt.Sprintf("task-%d", task))
		}
	}
	if f.spout, err = newSpoutTask(rt, topo.Tasks("spout")[0], topo.Component("spout")); err != nil {
		t.Fatal(err)
	}
	if f.bolt, err = newBoltTask(rt, topo.Tasks("bolt")[0], topo.Component("bolt")); err != nil {
		t.Fatal(err)
	}
	f.bolt.prepare()
	return f
}

// FuzzRemoteMessages feeds what a peer may send (a tuple frame, a credit,
// an ack batch, as bytes) to the tasks' receive path: decoding, the
// placement checks, and the dispatch that follows. Nothing may panic.
func FuzzRemoteMessages(f *testing.F) {
	tasks := newFuzzTasks(f)
	org := &topologyinternal.Origin{Component: "spout", Stream: topology.DefaultStream, Task: tasks.peerSpout, Fields: topology.NewFields("id", "key")}
	batch := &tupleBatch{from: tasks.peerSpout, tuples: make([]topology.Tuple, 2)}
	rep(&batch.tuples[0]).Init(org, topology.Values{int64(1), "北京"}, []topologyinternal.Anchor{{Root: 1 << rootSeqBits, Edge: 7}})
	rep(&batch.tuples[1]).Init(org, topology.Values{int64(2), "k"}, nil)
	frame, err := tupleFrame("fuzz", tasks.bolt.id, batch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), frame.GetBatch())
	credit, _ := gproto.Marshal(&proto.Credit{Topology: "fuzz", FromTask: int32(tasks.peerBolt), ToTask: int32(tasks.spout.id), Batches: 1})
	f.Add(uint8(1), credit)
	acks, _ := gproto.Marshal(encodeAckBatch("fuzz", tasks.spout.id, &ackBatch{ops: []ackOp{{kind: opAck, root: uint64(tasks.spout.id) << rootSeqBits, val: 3}}}))
	f.Add(uint8(2), acks)
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		switch kind % 3 {
		case 0:
			if b, ok := tasks.bolt.wireBatch(peerAddr, &proto.TupleFrame{Batch: data}); ok {
				tasks.bolt.inbox = append(tasks.bolt.inbox, b)
				tasks.bolt.drain()
			}
		case 1:
			var c proto.Credit
			if gproto.Unmarshal(data, &c) == nil {
				tasks.spout.wireCredit(peerAddr, &c)
				tasks.bolt.wireCredit(peerAddr, &c)
			}
		case 2:
			var a proto.AckBatch
			if gproto.Unmarshal(data, &a) == nil {
				if b, ok := tasks.spout.wireAcks(peerAddr, &a); ok {
					tasks.spout.applyAcks(b)
				}
			}
		}
	})
}
