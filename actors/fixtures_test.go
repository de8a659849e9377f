package actors

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
)

// wait polls cond until it holds or d passes.
func wait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ledger records what the spouts of a test saw, across tasks and restarts.
type ledger struct {
	mu      sync.Mutex
	emitted map[int]int // msgID → times emitted
	acked   map[int]int // msgID → times acked
	failed  map[int]int
	replay  []int // failed ids waiting to be emitted again
	next    int
	total   int
}

func newLedger(total int) *ledger {
	return &ledger{emitted: map[int]int{}, acked: map[int]int{}, failed: map[int]int{}, total: total}
}

// take returns the next id to emit: a replay first, else a fresh one.
func (l *ledger) take() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.replay); n > 0 {
		id := l.replay[n-1]
		l.replay = l.replay[:n-1]
		l.emitted[id]++
		return id, true
	}
	if l.next >= l.total {
		return 0, false
	}
	id := l.next
	l.next++
	l.emitted[id]++
	return id, true
}

func (l *ledger) ack(id int) {
	l.mu.Lock()
	l.acked[id]++
	l.mu.Unlock()
}

func (l *ledger) fail(id int) {
	l.mu.Lock()
	l.failed[id]++
	l.replay = append(l.replay, id)
	l.mu.Unlock()
}

func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ledger) failedTotal() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.failed {
		n += c
	}
	return n
}

// checkExactlyOnceAcks fails the test unless every id was acked exactly once.
func (l *ledger) checkExactlyOnceAcks(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acked) != l.total {
		t.Fatalf("%d of %d message ids acked", len(l.acked), l.total)
	}
	for id, n := range l.acked {
		if n != 1 {
			t.Fatalf("message id %d acked %d times", id, n)
		}
	}
}

// ledgerSpout emits each id of its ledger as Values{id, "k<id%keys>"} with the
// id as message id, replaying failed ids.
type ledgerSpout struct {
	l    *ledger
	keys int
	out  topology.SpoutOutputCollector
}

func (s *ledgerSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}

func (s *ledgerSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}

func (s *ledgerSpout) NextTuple() {
	id, ok := s.l.take()
	if !ok {
		return
	}
	keys := s.keys
	if keys == 0 {
		keys = 100
	}
	if err := s.out.Emit(topology.Values{int64(id), keyOf(id % keys)}, id); err != nil {
		panic(err)
	}
}

func (s *ledgerSpout) Ack(msgID any)  { s.l.ack(msgID.(int)) }
func (s *ledgerSpout) Fail(msgID any) { s.l.fail(msgID.(int)) }
func (s *ledgerSpout) Close() error   { return nil }

func keyOf(i int) string { return "k" + itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// funcBolt is a BasicBolt made of a function; it passes its input's fields on.
type funcBolt struct {
	fields topology.Fields
	exec   func(t *topology.Tuple, out topology.BasicOutputCollector) error
}

func (b *funcBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	if b.fields != nil {
		d.Declare(b.fields)
	}
}
func (b *funcBolt) Prepare(*topology.TopologyContext) error { return nil }
func (b *funcBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	return b.exec(t, out)
}
func (b *funcBolt) Cleanup() error { return nil }

func basic(fields topology.Fields, exec func(t *topology.Tuple, out topology.BasicOutputCollector) error) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt { return &funcBolt{fields: fields, exec: exec} })
}

// run starts a topology and shuts it down when the test ends.
func run(t *testing.T, b *topology.Builder, conf topology.Config) *LocalTopology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if conf.Logger == nil {
		conf.Logger = quietLogger()
	}
	l, err := RunLocal(context.Background(), topo, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Shutdown)
	return l
}

// checkNothingPending fails unless, within 5 s, no spout has a tree in
// flight.
func checkNothingPending(t *testing.T, l *LocalTopology) {
	t.Helper()
	wait(t, 5*time.Second, "no pending trees", func() bool { return l.pending() == 0 })
}

// quietLogger drops the runtime's logs; crash logs are expected in tests.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
