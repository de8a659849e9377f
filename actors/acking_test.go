package actors

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
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
	b.SetSpout("spout", func() topology.Spout { return &notifySpout{ledgerSpout{l: l}, &spoutAcked} }, 1)
	fields := topology.NewFields("id", "key")
	b.SetBolt("a", basic(fields, fanOut(3)), 1).ShuffleGrouping("spout")
	b.SetBolt("b", basic(fields, fanOut(3)), 1).ShuffleGrouping("spout")
	b.SetBolt("c", func() topology.Bolt {
		return &holder{held: &held, spoutAcked: &spoutAcked, early: &early, released: &released}
	}, 1).ShuffleGrouping("a").ShuffleGrouping("b").TickFrequency(20 * time.Millisecond)
	run(t, b, topology.Config{})
	wait(t, 10*time.Second, "the tree to complete", spoutAcked.Load)
	if early.Load() {
		t.Fatal("the spout saw Ack while C still held an unacked tuple of the tree")
	}
	if n := released.Load(); n != 6 {
		t.Fatalf("spout acked after %d of 6 leaf acks", n)
	}
	l.checkExactlyOnceAcks(t)
}

type notifySpout struct {
	ledgerSpout
	acked *atomic.Bool
}

func (s *notifySpout) Ack(id any) {
	s.ledgerSpout.Ack(id)
	s.acked.Store(true)
}

// TestDiamondWithRandomFailuresReplaysUntilAllAcked: 1% of the tuples fail in
// a middle bolt; failed trees replay until every id is acked exactly once.
func TestDiamondWithRandomFailuresReplaysUntilAllAcked(t *testing.T) {
	const n = 10000
	l := newLedger(n)
	fields := topology.NewFields("id", "key")
	failSome := func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		if rand.IntN(100) == 0 {
			return errors.New("random failure")
		}
		return fanOut(3)(t, out)
	}
	var leaves atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &ledgerSpout{l: l} }, 2)
	b.SetBolt("a", basic(fields, failSome), 3).ShuffleGrouping("spout")
	b.SetBolt("b", basic(fields, fanOut(3)), 2).FieldsGrouping("spout", "key")
	b.SetBolt("c", basic(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		leaves.Add(1)
		return nil
	}), 3).ShuffleGrouping("a").FieldsGrouping("b", "id")
	lt := run(t, b, topology.Config{MessageTimeout: 2 * time.Second})
	wait(t, 60*time.Second, "every id acked", func() bool { return l.ackedCount() == n })
	l.checkExactlyOnceAcks(t)
	if l.failedTotal() == 0 {
		t.Fatal("no tree failed; the test did not exercise replay")
	}
	checkNothingPending(t, lt)
	t.Logf("%d trees failed and were replayed; %d leaf tuples executed", l.failedTotal(), leaves.Load())
}

// TestBoltThatNeverAcksTimesOut: the spout sees Fail after MessageTimeout.
func TestBoltThatNeverAcksTimesOut(t *testing.T) {
	l := newLedger(5)
	var mu sync.Mutex
	var failedAt []time.Time
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout {
		return &timingSpout{ledgerSpout: ledgerSpout{l: l}, onFail: func() {
			mu.Lock()
			failedAt = append(failedAt, time.Now())
			mu.Unlock()
		}}
	}, 1)
	b.SetBolt("swallow", func() topology.Bolt { return &swallower{} }, 1).ShuffleGrouping("spout")
	const timeout = 300 * time.Millisecond
	start := time.Now()
	run(t, b, topology.Config{MessageTimeout: timeout})
	wait(t, 10*time.Second, "a Fail", func() bool { return l.failedTotal() >= 5 })
	mu.Lock()
	first := failedAt[0]
	mu.Unlock()
	if d := first.Sub(start); d < timeout {
		t.Fatalf("failed after %v, before the %v timeout", d, timeout)
	}
	if l.ackedCount() != 0 {
		t.Fatalf("%d swallowed tuples were acked", l.ackedCount())
	}
}

type timingSpout struct {
	ledgerSpout
	onFail func()
}

func (s *timingSpout) Fail(id any) {
	s.onFail()
	// no replay: the test counts failures
	s.l.mu.Lock()
	s.l.failed[id.(int)]++
	s.l.mu.Unlock()
}

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
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &ledgerSpout{l: l} }, 1)
	b.SetBolt("crashy", topology.Basic(func() topology.BasicBolt {
		prepared.Add(1)
		return &funcBolt{exec: func(*topology.Tuple, topology.BasicOutputCollector) error {
			if executed.Add(1)%1000 == 0 {
				panic("every 1000th tuple")
			}
			return nil
		}}
	}), 2).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{MessageTimeout: time.Minute, RestartBackoff: time.Millisecond})
	wait(t, 60*time.Second, "every id acked", func() bool { return l.ackedCount() == n })
	l.checkExactlyOnceAcks(t)
	m, _ := lt.Component("crashy")
	if m.Restarts < 10 {
		t.Fatalf("restarts = %d, want at least 10", m.Restarts)
	}
	if l.failedTotal() < int(m.Restarts) {
		t.Fatalf("%d restarts but only %d failed trees: the crashing tuple was not failed", m.Restarts, l.failedTotal())
	}
	if m.LastError != "bolt crashed: every 1000th tuple" {
		t.Fatalf("last error %q, want the panic", m.LastError)
	}
	t.Logf("%d restarts, %d factory calls, %d replays", m.Restarts, prepared.Load(), l.failedTotal())
}

// crashSpout panics in NextTuple now and then.
type crashSpout struct {
	ledgerSpout
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
	s.ledgerSpout.NextTuple()
}

func TestCrashingSpoutRestartsAndLosesNothing(t *testing.T) {
	const n = 5000
	l := newLedger(n)
	var calls atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &crashSpout{ledgerSpout{l: l}, &calls} }, 1)
	b.SetBolt("sink", basic(nil, func(*topology.Tuple, topology.BasicOutputCollector) error { return nil }), 2).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{MessageTimeout: time.Minute, RestartBackoff: time.Millisecond})
	wait(t, 60*time.Second, "every id acked", func() bool { return l.ackedCount() == n })
	m, _ := lt.Component("spout")
	if m.Restarts != 5 {
		t.Fatalf("the spout restarted %d times, want 5", m.Restarts)
	}
	checkNothingPending(t, lt)
}

// sideSpout emits each id of its ledger on a stream no bolt subscribes to.
type sideSpout struct{ ledgerSpout }

func (s *sideSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	s.ledgerSpout.DeclareOutputFields(d)
	d.DeclareStream("side", topology.NewFields("id"))
}

func (s *sideSpout) NextTuple() {
	if id, ok := s.l.take(); ok {
		if err := s.out.EmitTo("side", topology.Values{int64(id)}, id); err != nil {
			panic(err)
		}
	}
}

// TestTreeWithNoEdgesIsAcked: a tracked tuple on a stream nobody subscribes
// to has a tree with no edges, complete at once, as in Storm.
func TestTreeWithNoEdgesIsAcked(t *testing.T) {
	const n = 1000
	l := newLedger(n)
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &sideSpout{ledgerSpout{l: l}} }, 1)
	b.SetBolt("sink", basic(nil, func(*topology.Tuple, topology.BasicOutputCollector) error { return nil }), 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{})
	wait(t, 10*time.Second, "every id acked", func() bool { return l.ackedCount() == n })
	l.checkExactlyOnceAcks(t)
	checkNothingPending(t, lt)
}
