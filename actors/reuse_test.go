package actors

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// keepingBolt keeps every input tuple and acks them a thousand at a time,
// as a windowed or a batching bolt does; before it acks, each tuple must
// still hold the values it arrived with.
type keepingBolt struct {
	out     topology.OutputCollector
	held    []*topology.Tuple
	ids     []int64
	damaged *atomic.Int64
}

func (b *keepingBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *keepingBolt) Prepare(_ *topology.TopologyContext, out topology.OutputCollector) error {
	b.out = out
	return nil
}
func (b *keepingBolt) Execute(t *topology.Tuple) {
	if !t.IsTick() {
		b.held = append(b.held, t)
		b.ids = append(b.ids, t.Int64ByField("id"))
		if len(b.held) < 1000 {
			return
		}
	}
	for i, h := range b.held {
		if h.Int64ByField("id") != b.ids[i] || h.StringByField("key") != keyOf(int(b.ids[i])%100) {
			b.damaged.Add(1)
		}
		b.out.Ack(h)
	}
	b.held, b.ids = b.held[:0], b.ids[:0]
}
func (b *keepingBolt) Cleanup() error { return nil }

// TestKeptTuplesStayIntact: the runtime reuses the memory of input tuples
// only for bolts that keep none; a bolt that holds tuples across many
// batches must find them as they came, after a basic bolt upstream had its
// own input reused.
func TestKeptTuplesStayIntact(t *testing.T) {
	const total = 30000
	l := newLedger(total)
	var damaged atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("pass", topologytest.BasicFunc(idFields, func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		return out.Emit(t.Values())
	}), 2).ShuffleGrouping("spout")
	b.SetBolt("keep", func() topology.Bolt { return &keepingBolt{damaged: &damaged} }, 2).
		FieldsGrouping("pass", "key").TickFrequency(50 * time.Millisecond)
	lt := run(t, b, topology.Config{BatchSize: 64, MaxSpoutPending: 8000})
	check.For(t, 30*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
	if n := damaged.Load(); n > 0 {
		t.Fatalf("%d kept tuples changed while the bolt held them", n)
	}
	checkNothingPending(t, lt)
}

// TestBasicBoltMayKeepValues: a BasicBolt must not keep its input tuple,
// whose memory is reused, but the tuple's Values stay as they are.
func TestBasicBoltMayKeepValues(t *testing.T) {
	const total = 20000
	l := newLedger(total)
	var mu sync.Mutex
	var kept []topology.Values
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("pass", topologytest.BasicFunc(idFields, func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		return out.Emit(t.Values())
	}), 2).ShuffleGrouping("spout")
	b.SetBolt("keep", topologytest.BasicFunc(nil, func(t *topology.Tuple, _ topology.BasicOutputCollector) error {
		mu.Lock()
		kept = append(kept, t.Values())
		mu.Unlock()
		return nil
	}), 2).ShuffleGrouping("pass")
	run(t, b, topology.Config{BatchSize: 64})
	check.For(t, 30*time.Second, l.AllAcked)
	mu.Lock()
	defer mu.Unlock()
	seen := make(map[int64]bool, total)
	for _, v := range kept {
		id := v[0].(int64)
		if v[1].(string) != keyOf(int(id)%100) {
			t.Fatalf("kept values %v changed", v)
		}
		seen[id] = true
	}
	if len(seen) != total {
		t.Fatalf("kept values hold %d distinct ids, want %d", len(seen), total)
	}
}

// countingSpout emits the same untracked values over and over: it
// allocates nothing itself.
type countingSpout struct {
	out    topology.SpoutOutputCollector
	values topology.Values
}

func (s *countingSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}
func (s *countingSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out, s.values = out, topology.Values{int64(1), "k1"}
	return nil
}
func (s *countingSpout) NextTuple() {
	if err := s.out.Emit(s.values, nil); err != nil {
		panic(err)
	}
}
func (s *countingSpout) Ack(any)      {}
func (s *countingSpout) Fail(any)     {}
func (s *countingSpout) Close() error { return nil }

// TestBasicBoltsReuseTheirInput: through basic bolts, tuples cost the heap
// next to nothing: their batches go back to a pool once executed instead of
// to the garbage collector (64 bytes a tuple on each hop otherwise).
func TestBasicBoltsReuseTheirInput(t *testing.T) {
	var executed atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &countingSpout{} }, 1)
	b.SetBolt("pass", topologytest.BasicFunc(idFields, func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		return out.Emit(t.Values())
	}), 1).ShuffleGrouping("spout")
	b.SetBolt("count", topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		executed.Add(1)
		return nil
	}), 1).ShuffleGrouping("pass")
	run(t, b, topology.Config{DisableAcking: true})
	check.For(t, 30*time.Second, func() error {
		if n := executed.Load(); n <= 200000 {
			return fmt.Errorf("%d of the 200000 tuples of a warm-up executed", n)
		}
		return nil
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n0 := executed.Load()
	check.For(t, 30*time.Second, func() error {
		if n := executed.Load() - n0; n <= 1000000 {
			return fmt.Errorf("%d of a million tuples executed", n)
		}
		return nil
	})
	runtime.ReadMemStats(&after)
	perTuple := float64(after.TotalAlloc-before.TotalAlloc) / float64(executed.Load()-n0)
	t.Logf("%.1f bytes allocated per tuple over two hops", perTuple)
	// The race detector drops a quarter of the pool's puts at random.
	bound := 32.0
	if raceEnabled {
		bound = 64
	}
	if perTuple > bound {
		t.Fatalf("%.1f bytes allocated per tuple over two hops; reused batches allocate next to none", perTuple)
	}
}

// TestLargeBatchSizeCostsOnlyWhatFills: a task holds a filling batch for
// each target; with a large BatchSize and a trickle of tuples, those must
// not each take BatchSize tuples' room (32 targets × 100,000 × 64 B would
// be 200 MB).
func TestLargeBatchSizeCostsOnlyWhatFills(t *testing.T) {
	var executed atomic.Int64
	l := newLedger(3200)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("count", topologytest.BasicFunc(nil, func(*topology.Tuple, topology.BasicOutputCollector) error {
		executed.Add(1)
		return nil
	}), 32).ShuffleGrouping("spout")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run(t, b, topology.Config{BatchSize: 100000})
	check.For(t, 30*time.Second, l.AllAcked)
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 64<<20 {
		t.Fatalf("%d MB allocated for 3200 tuples over 32 targets", grew>>20)
	}
}
