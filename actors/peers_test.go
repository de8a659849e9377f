package actors

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// Nodes at these addresses; no transport runs, messages "from" a peer are
// delivered with the sender its transport would give them.
const (
	selfAddr  = "127.0.0.1:1"
	peerAddr  = "127.0.0.2:1"
	otherAddr = "127.0.0.3:1"
)

// peerRig runs the sink of spout (2 tasks, on peerAddr) → sink here.
type peerRig struct {
	lt       *LocalTopology
	system   *actor.ActorSystem
	spouts   []int
	sink     int
	executed atomic.Int64
	logs     testinfra.Logs
}

func newPeerRig(t *testing.T) *peerRig {
	r := &peerRig{}
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(0).Spout, 2)
	b.SetBolt("sink", topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		r.executed.Add(1)
		return nil
	}), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	r.spouts, r.sink = topo.Tasks("spout"), topo.Tasks("sink")[0]
	placement := Placement{Self: selfAddr, Tasks: map[int]string{}}
	for _, s := range r.spouts {
		placement.Tasks[s] = peerAddr
	}
	r.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger() }))
	t.Cleanup(r.system.Shutdown)
	conf := topology.Config{Name: "mine", Logger: r.logs.Logger()}
	if r.lt, err = RunOn(context.Background(), r.system, topo, conf, placement); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.lt.Shutdown)
	return r
}

// deliver hands msg to task as the transport would for a message from the
// node at peer; "" for a message no transport vouched for.
func (r *peerRig) deliver(task int, msg any, peer string) {
	pid := r.lt.rt.pids[task]
	if peer == "" {
		r.system.Root.Send(pid, msg)
		return
	}
	r.system.Root.RequestWithCustomSender(pid, msg, PeerPID(peer))
}

// frame is a tuple batch for the sink from spout task from, with one tuple
// claiming to come from task claimed.
func (r *peerRig) frame(t *testing.T, topo string, from, claimed int) *proto.TupleFrame {
	t.Helper()
	org := &topologyinternal.Origin{Component: "spout", Stream: topology.DefaultStream, Task: claimed, Fields: topology.NewFields("id", "key")}
	b := &tupleBatch{from: from, tuples: make([]topology.Tuple, 1)}
	rep(&b.tuples[0]).Init(org, topology.Values{int64(1), "k"}, nil)
	f, err := tupleFrame(topo, r.sink, b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (r *peerRig) sinkErrors() int64 {
	m, _ := r.lt.Component("sink")
	return m.Errors
}

// TestTasksAcceptOnlyWhatTheirPeersMaySend: a node speaks only for the tasks
// placed on it, to tasks its tasks feed, and only through the transport.
// Each refusal is counted, logged naming the peer, and changes nothing; a
// good batch still runs afterwards.
func TestTasksAcceptOnlyWhatTheirPeersMaySend(t *testing.T) {
	r := newPeerRig(t)
	s0, s1 := r.spouts[0], r.spouts[1]
	refusals := []struct {
		name string
		msg  any
		peer string
	}{
		{"a batch from a node its sender does not run on", r.frame(t, "mine", s0, s0), otherAddr},
		{"a batch no transport vouched for", r.frame(t, "mine", s0, s0), ""},
		{"a batch for another topology", r.frame(t, "theirs", s0, s0), peerAddr},
		{"a tuple claiming another task than its batch", r.frame(t, "mine", s0, s1), peerAddr},
		{"a batch from a task that does not exist", r.frame(t, "mine", 100000, 100000), peerAddr},
		{"garbage", &proto.TupleFrame{Batch: []byte{0xff, 0xff}}, peerAddr},
		{"a credit from a task that does not exist", &proto.Credit{Topology: "mine", FromTask: 100000, ToTask: int32(r.sink), Batches: 1}, peerAddr},
		{"a negative credit", &proto.Credit{Topology: "mine", FromTask: int32(s0), ToTask: int32(r.sink), Batches: -1000000}, peerAddr},
		{"a credit from a node its task does not run on", &proto.Credit{Topology: "mine", FromTask: int32(s0), ToTask: int32(r.sink), Batches: 1}, otherAddr},
		{"a credit for another task", &proto.Credit{Topology: "mine", FromTask: int32(s0), ToTask: int32(r.sink + 1), Batches: 1}, peerAddr},
	}
	for i, c := range refusals {
		r.deliver(r.sink, c.msg, c.peer)
		want := int64(i + 1)
		check.For(t, 5*time.Second, func() error {
			if got := r.sinkErrors(); got < want {
				return fmt.Errorf("%s not refused: %d errors, want %d", c.name, got, want)
			}
			return nil
		})
		if got := r.sinkErrors(); got != want {
			t.Fatalf("after %s: %d errors, want %d", c.name, got, want)
		}
	}
	if n := r.executed.Load(); n != 0 {
		t.Fatalf("the sink executed %d tuples of refused batches", n)
	}
	r.deliver(r.sink, r.frame(t, "mine", s1, s1), peerAddr)
	check.For(t, 5*time.Second, func() error {
		if n := r.executed.Load(); n != 1 {
			return fmt.Errorf("%d tuples of the good batch executed, want 1", n)
		}
		return nil
	})
	logs := r.logs.String()
	for _, want := range []string{`"from":"` + otherAddr, `"from":"` + peerAddr, "refused: tuple batch", "refused: credit", `"component":"sink"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %q:\n%s", want, logs)
		}
	}
}

// TestSpoutRefusesAcksFromStrangers: ack batches come from nodes that run
// some of the topology's tasks, and credits only from the tasks a spout
// sends to; neither may stop it.
func TestSpoutRefusesAcksFromStrangers(t *testing.T) {
	l := newLedger(1 << 30)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("sink", topologytest.BasicFunc(nil, ackAll), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	spout, sink := topo.Tasks("spout")[0], topo.Tasks("sink")[0]
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger() }))
	t.Cleanup(system.Shutdown)
	lt, err := RunOn(context.Background(), system, topo, topology.Config{Name: "mine", Logger: quietLogger()}, Placement{Self: selfAddr, Tasks: map[int]string{sink: peerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lt.Shutdown)
	pid := lt.rt.pids[spout]
	spoutErrors := func() int64 { m, _ := lt.Component("spout"); return m.Errors }
	msgs := []struct {
		msg  any
		peer string
	}{
		{&proto.AckBatch{Topology: "mine", SpoutTask: int32(spout), Kinds: []proto.AckKind{proto.AckKind_ACK_FAIL}, Roots: []uint64{1}, Values: []uint64{0}}, otherAddr},
		{&proto.AckBatch{Topology: "mine", SpoutTask: int32(spout), Kinds: []proto.AckKind{proto.AckKind_ACK_FAIL}, Roots: []uint64{1}}, peerAddr},
		{&proto.Credit{Topology: "mine", FromTask: int32(sink), ToTask: int32(spout), Batches: -1000000}, peerAddr},
		{&proto.Credit{Topology: "mine", FromTask: 100000, ToTask: int32(spout), Batches: 1}, peerAddr},
	}
	for i, m := range msgs {
		system.Root.RequestWithCustomSender(pid, m.msg, PeerPID(m.peer))
		want := int64(i + 1)
		check.For(t, 5*time.Second, func() error {
			if got := spoutErrors(); got < want {
				return fmt.Errorf("%d refusals counted, want %d", got, want)
			}
			return nil
		})
	}
	// The spout sent its batches to the sink, which never answers here:
	// credits from the sink's node let it send more.
	before := func() int64 { m, _ := lt.Component("spout"); return m.Transferred }
	check.For(t, 5*time.Second, func() error {
		n := before()
		time.Sleep(20 * time.Millisecond) // a window in which a spout with credit would send
		if after := before(); n == 0 || after != n {
			return fmt.Errorf("the spout not out of credit: %d tuples transferred, then %d", n, after)
		}
		return nil
	})
	stalled := before()
	for range 4 {
		system.Root.RequestWithCustomSender(pid, &proto.Credit{Topology: "mine", FromTask: int32(sink), ToTask: int32(spout), Batches: 1}, PeerPID(peerAddr))
	}
	check.For(t, 5*time.Second, func() error {
		if n := before(); n <= stalled {
			return fmt.Errorf("the spout not sending again after good credits: %d tuples transferred, as when stalled", n)
		}
		return nil
	})
	if got := spoutErrors(); got != int64(len(msgs)) {
		t.Fatalf("%d errors, want %d", got, len(msgs))
	}
}
