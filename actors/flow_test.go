package actors

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// endlessSpout emits untracked tuples for as long as it is asked to.
type endlessSpout struct {
	out     topology.SpoutOutputCollector
	emitted *atomic.Int64
	payload []byte
}

func (s *endlessSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("n", "payload"))
}
func (s *endlessSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *endlessSpout) NextTuple() {
	n := s.emitted.Add(1)
	if err := s.out.Emit(topology.Values{n, s.payload}, nil); err != nil {
		panic(err)
	}
}
func (s *endlessSpout) Ack(any)      {}
func (s *endlessSpout) Fail(any)     {}
func (s *endlessSpout) Close() error { return nil }

// TestSlowBoltSlowsSpoutAndBoundsMemory: spout → fast bolt → slow bolt with
// acking off, so only flow control can hold the spout back. The spout would
// emit forever; what it emitted beyond what the slow bolt executed must stay
// within the credit windows, and the heap must stay bounded.
func TestSlowBoltSlowsSpoutAndBoundsMemory(t *testing.T) {
	var emitted, slowExecuted atomic.Int64
	payload := make([]byte, 1024)
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &endlessSpout{emitted: &emitted, payload: payload} }, 1)
	b.SetBolt("fast", topologytest.BasicFunc(topology.NewFields("n", "payload"), func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		return out.Emit(t.Values())
	}), 1).ShuffleGrouping("spout")
	b.SetBolt("slow", topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		time.Sleep(50 * time.Microsecond)
		slowExecuted.Add(1)
		return nil
	}), 1).ShuffleGrouping("fast")
	conf := topology.Config{DisableAcking: true, BatchSize: 64, MaxPendingBatches: 4}
	lt := run(t, b, conf)

	// Each edge holds at most MaxPendingBatches in flight plus one batch
	// waiting and one being filled; a bolt's input backlog is bounded the
	// same way. Two edges, with generous slack for the batch in execution.
	bound := int64(2 * (conf.MaxPendingBatches + 3) * conf.BatchSize)
	var worst int64
	var heapPeak uint64
	var ms runtime.MemStats
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if gap := emitted.Load() - slowExecuted.Load(); gap > worst {
			worst = gap
		}
		runtime.ReadMemStats(&ms)
		heapPeak = max(heapPeak, ms.HeapAlloc)
		time.Sleep(20 * time.Millisecond)
	}
	if slowExecuted.Load() == 0 {
		t.Fatal("the slow bolt executed nothing")
	}
	if worst > bound {
		t.Fatalf("spout ran %d tuples ahead of the slow bolt, bound %d: backpressure does not hold", worst, bound)
	}
	// Unbounded queues of 1 KiB tuples would pass this within a second.
	if heapPeak > 256<<20 {
		t.Fatalf("heap peaked at %d MiB", heapPeak>>20)
	}
	m, _ := lt.Component("slow")
	t.Logf("emitted %d, slow executed %d, worst gap %d (bound %d), heap peak %d MiB, slow capacity %.2f",
		emitted.Load(), slowExecuted.Load(), worst, bound, heapPeak>>20, m.Capacity)
}

// TestCycleDoesNotDeadlock: spout → loop ⇄ loop2, where each pass decrements
// a counter until zero. Tight credit would deadlock a cycle if edges that
// close it blocked.
func TestCycleDoesNotDeadlock(t *testing.T) {
	const n = 2000
	l := newLedger(n)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	hop := func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		if left := t.Int64ByField("id") % 5; left > 0 {
			return out.EmitTo("again", topology.Values{t.Int64ByField("id") - 1, t.StringByField("key")})
		}
		return nil
	}
	loop := streamFunc(idFields, hop, "again")
	b.SetBolt("loop", loop, 2).ShuffleGrouping("spout").Grouping("loop2", "again", topology.Grouping{Kind: topology.GroupingShuffle})
	b.SetBolt("loop2", loop, 2).Grouping("loop", "again", topology.Grouping{Kind: topology.GroupingShuffle})
	run(t, b, topology.Config{BatchSize: 4, MaxPendingBatches: 1})
	check.For(t, 30*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
}

func TestMaxSpoutPendingBoundsTreesInFlight(t *testing.T) {
	l := newLedger(1 << 30)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("swallow", func() topology.Bolt { return &swallower{} }, 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{MaxSpoutPending: 100, MessageTimeout: time.Minute})
	check.For(t, 5*time.Second, func() error {
		if n := lt.pending(); n != 100 {
			return fmt.Errorf("%d trees pending, want 100", n)
		}
		return nil
	})
	m, _ := lt.Component("spout")
	if m.Emitted != 100 {
		t.Fatalf("emitted %d with MaxSpoutPending 100 and nothing acked", m.Emitted)
	}
}
