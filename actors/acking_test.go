package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// fanOut emits n anchored copies of its input, then acks it.
func fanOut(n int) func(*topology.Tuple, topology.BasicOutputCollector) error {
	return func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		for i := 0; i < n; i++ {
			if err := out.Emit(t.Values()); err != nil {
				return err
			}
		}
		return nil
	}
}

// holder keeps every tuple it gets and releases (acks) one per tick,
// recording whether the spout had acked while it still held tuples.
type holder struct {
	held       *[]*topology.Tuple
	spoutAcked *atomic.Bool
	early      *atomic.Bool
	released   *atomic.Int32
	out        topology.OutputCollector
}

func (h *holder) DeclareOutputFields(*topology.OutputDeclarer) {}
func (h *holder) Prepare(_ *topology.TopologyContext, out topology.OutputCollector) error {
	h.out = out
	return nil
}
func (h *holder) Execute(t *topology.Tuple) {
	if !t.IsTick() {
		*h.held = append(*h.held, t)
		return
	}
	if len(*h.held) == 0 {
		return
	}
	if h.spoutAcked.Load() {
		h.early.Store(true) // the tree completed with an edge still unacked
	}
	h.out.Ack((*h.held)[0])
	*h.held = (*h.held)[1:]
	h.released.Add(1)
}
func (h *holder) Cleanup() error { return nil }

// TestDiamondTreeCompletesExactlyWhenLastEdgeAcked: spout → A, B (each fans
// out 3) → C. C holds the six grandchildren and acks one per tick; the spout
// must see Ack only after the sixth.
func TestDiamondTreeCompletesExactlyWhenLastEdgeAcked(t *testing.T) {
	l := newLedger(1)
	var spoutAcked, early atomic.Bool
	var released atomic.Int32
	var held []*topology.Tuple
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &notifySpout{l.Spout(), &spoutAcked} }, 1)
	b.SetBolt("a", topologytest.BasicFunc(idFields, fanOut(3)), 1).ShuffleGrouping("spout")
	b.SetBolt("b", topologytest.BasicFunc(idFields, fanOut(3)), 1).ShuffleGrouping("spout")
	b.SetBolt("c", func() topology.Bolt {
		return &holder{held: &held, spoutAcked: &spoutAcked, early: &early, released: &released}
	}, 1).ShuffleGrouping("a").ShuffleGrouping("b").TickFrequency(20 * time.Millisecond)
	run(t, b, topology.Config{})
	check.For(t, 10*time.Second, func() error {
		if !spoutAcked.Load() {
			return fmt.Errorf("the tree not complete: %d of 6 leaf acks", released.Load())
		}
		return nil
	})
	if early.Load() {
		t.Fatal("the spout saw Ack while C still held an unacked tuple of the tree")
	}
	if n := released.Load(); n != 6 {
		t.Fatalf("spout acked after %d of 6 leaf acks", n)
	}
	l.CheckExactlyOnce(t)
}

// notifySpout is a ledger's spout that sets acked at an Ack.
type notifySpout struct {
	topology.Spout
	acked *atomic.Bool
}

func (s *notifySpout) Ack(id any) {
	s.Spout.Ack(id)
	s.acked.Store(true)
}

// TestDiamondWithRandomFailuresReplaysUntilAllAcked: 1% of the tuples fail in
// a middle bolt; failed trees replay until every id is acked exactly once.
func TestDiamondWithRandomFailuresReplaysUntilAllAcked(t *testing.T) {
	const n = 10000
	l := newLedger(n)
	failSome := func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		if rand.IntN(100) == 0 {
			return errors.New("random failure")
		}
		return fanOut(3)(t, out)
	}
	var leaves atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 2)
	b.SetBolt("a", topologytest.BasicFunc(idFields, failSome), 3).ShuffleGrouping("spout")
	b.SetBolt("b", topologytest.BasicFunc(idFields, fanOut(3)), 2).FieldsGrouping("spout", "key")
	b.SetBolt("c", topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		leaves.Add(1)
		return nil
	}), 3).ShuffleGrouping("a").FieldsGrouping("b", "id")
	lt := run(t, b, topology.Config{MessageTimeout: 2 * time.Second})
	check.For(t, 60*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
	if l.Failed() == 0 {
		t.Fatal("no tree failed; the test did not exercise replay")
	}
	checkNothingPending(t, lt)
	t.Logf("%d trees failed and were replayed; %d leaf tuples executed", l.Failed(), leaves.Load())
}

// TestBoltThatNeverAcksTimesOut: the spout sees Fail after MessageTimeout.
func TestBoltThatNeverAcksTimesOut(t *testing.T) {
	l := newLedger(5)
	var mu sync.Mutex
	var failedAt []time.Time
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout {
		return &timingSpout{Spout: l.Spout(), onFail: func() {
			mu.Lock()
			failedAt = append(failedAt, time.Now())
			mu.Unlock()
		}}
	}, 1)
	b.SetBolt("swallow", func() topology.Bolt { return &swallower{} }, 1).ShuffleGrouping("spout")
	const timeout = 300 * time.Millisecond
	start := time.Now()
	run(t, b, topology.Config{MessageTimeout: timeout})
	check.For(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(failedAt) < 5 {
			return fmt.Errorf("%d of 5 trees failed", len(failedAt))
		}
		return nil
	})
	mu.Lock()
	first := failedAt[0]
	mu.Unlock()
	if d := first.Sub(start); d < timeout {
		t.Fatalf("failed after %v, before the %v timeout", d, timeout)
	}
	if l.Acked() != 0 {
		t.Fatalf("%d swallowed tuples were acked", l.Acked())
	}
}

// timingSpout is a ledger's spout that calls onFail at a Fail instead of
// replaying the id: the test times the failures of the first emits.
type timingSpout struct {
	topology.Spout
	onFail func()
}

func (s *timingSpout) Fail(any) { s.onFail() }

// swallower never acks.
type swallower struct{}

func (swallower) DeclareOutputFields(*topology.OutputDeclarer)                      {}
func (swallower) Prepare(*topology.TopologyContext, topology.OutputCollector) error { return nil }
func (swallower) Execute(*topology.Tuple)                                           {}
func (swallower) Cleanup() error                                                    { return nil }

// TestCrashingBoltRestartsAndLosesNothing: a bolt panics on every 1000th
// tuple; the tuple is failed at once (the timeout is a minute, longer than
// the test may take) and every id is still acked.
func TestCrashingBoltRestartsAndLosesNothing(t *testing.T) {
	const n = 20000
	l := newLedger(n)
	var executed atomic.Int64
	prepared := atomic.Int64{}
	crashy := topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		if executed.Add(1)%1000 == 0 {
			panic("every 1000th tuple")
		}
		return nil
	})
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("crashy", func() topology.Bolt {
		prepared.Add(1)
		return crashy()
	}, 2).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{MessageTimeout: time.Minute, RestartBackoff: time.Millisecond})
	check.For(t, 60*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
	m, _ := lt.Component("crashy")
	if m.Restarts < 10 {
		t.Fatalf("restarts = %d, want at least 10", m.Restarts)
	}
	if l.Failed() < int(m.Restarts) {
		t.Fatalf("%d restarts but only %d failed trees: the crashing tuple was not failed", m.Restarts, l.Failed())
	}
	if m.LastError != "bolt crashed: every 1000th tuple" {
		t.Fatalf("last error %q, want the panic", m.LastError)
	}
	t.Logf("%d restarts, %d factory calls, %d replays", m.Restarts, prepared.Load(), l.Failed())
}

// crashSpout is a ledger's spout that panics in NextTuple now and then.
type crashSpout struct {
	topology.Spout
	calls *atomic.Int64
}

// NextTuple crashes on every 500th call, five times: a spout that crashed
// on every 500th call for ever could, when fast, emit 500 tuples and crash
// again before any of them completes, and never make progress (its pending
// trees are failed at each crash, by design).
func (s *crashSpout) NextTuple() {
	if c := s.calls.Add(1); c%500 == 0 && c <= 2500 {
		panic("spout crash")
	}
	s.Spout.NextTuple()
}

func TestCrashingSpoutRestartsAndLosesNothing(t *testing.T) {
	const n = 5000
	l := newLedger(n)
	var calls atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &crashSpout{l.Spout(), &calls} }, 1)
	b.SetBolt("sink", topologytest.BasicFunc(nil, ackAll), 2).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{MessageTimeout: time.Minute, RestartBackoff: time.Millisecond})
	check.For(t, 60*time.Second, l.AllAcked)
	m, _ := lt.Component("spout")
	if m.Restarts != 5 {
		t.Fatalf("the spout restarted %d times, want 5", m.Restarts)
	}
	checkNothingPending(t, lt)
}

// TestTreeWithNoEdgesIsAcked: a tracked tuple on a stream nobody subscribes
// to has a tree with no edges, complete at once, as in Storm.
func TestTreeWithNoEdgesIsAcked(t *testing.T) {
	const n = 1000
	l := newLedger(n)
	b := topology.NewBuilder()
	// Each id goes out on a stream no bolt subscribes to.
	b.SetSpout("spout", func() topology.Spout {
		return &streamSpout{Spout: l.Spout(),
			declare: func(d *topology.OutputDeclarer) {
				d.Declare(idFields)
				d.DeclareStream("side", idFields)
			},
			emit: func(_ *topology.TopologyContext, out topology.SpoutOutputCollector, values topology.Values, msgID any) error {
				return out.EmitTo("side", values, msgID)
			}}
	}, 1)
	b.SetBolt("sink", topologytest.BasicFunc(nil, ackAll), 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
	checkNothingPending(t, lt)
}
