package window

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/topology"
)

// keyedSpout emits n tuples (n, key) with n as message id, and records what
// its trees became.
type keyedSpout struct {
	out   topology.SpoutOutputCollector
	total int
	next  int
	mu    *sync.Mutex
	acked map[int]int // message id -> acks
	fails *int
}

func (s *keyedSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("n", "key"))
}
func (s *keyedSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *keyedSpout) NextTuple() {
	if s.next == s.total {
		return
	}
	_ = s.out.Emit(topology.Values{int64(s.next), keyOf(s.next)}, s.next)
	s.next++
}
func (s *keyedSpout) Ack(id any) {
	s.mu.Lock()
	s.acked[id.(int)]++
	s.mu.Unlock()
}
func (s *keyedSpout) Fail(any) {
	s.mu.Lock()
	*s.fails++
	s.mu.Unlock()
}
func (s *keyedSpout) Close() error { return nil }

func keyOf(n int) string { return fmt.Sprint("province-", n%3) }

// sumBolt adds up the counts it gets per key.
type sumBolt struct {
	mu   *sync.Mutex
	sums map[string]int64
}

func (b *sumBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *sumBolt) Prepare(*topology.TopologyContext) error      { return nil }
func (b *sumBolt) Cleanup() error                               { return nil }
func (b *sumBolt) Execute(t *topology.Tuple, _ topology.BasicOutputCollector) error {
	b.mu.Lock()
	b.sums[t.StringByField("key")] += t.Int64ByField("count")
	b.mu.Unlock()
	return nil
}

// TestWindowedCountInATopology runs time and count windows in a topology:
// every tuple is counted once in each kind of tumbling window, and every
// spout tuple is acked exactly once, once it left its window.
func TestWindowedCountInATopology(t *testing.T) {
	for name, conf := range map[string]Config{
		"time":  {Length: 50 * time.Millisecond},
		"count": {LengthCount: 100},
	} {
		t.Run(name, func(t *testing.T) {
			const total = 3000 // a multiple of 3 keys × 100 tuples a count window
			var mu sync.Mutex
			acked, fails, sums := make(map[int]int), 0, make(map[string]int64)
			b := topology.NewBuilder()
			b.SetSpout("orders", func() topology.Spout {
				return &keyedSpout{total: total, mu: &mu, acked: acked, fails: &fails}
			}, 1)
			b.SetBolt("per-province", New(Count("key"), conf), 2).FieldsGrouping("orders", "key")
			b.SetBolt("sum", topology.Basic(func() topology.BasicBolt { return &sumBolt{mu: &mu, sums: sums} }), 1).
				ShuffleGrouping("per-province")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer lt.Shutdown()
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				done := len(acked)
				mu.Unlock()
				if done == total {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d tuples acked after 30s", done, total)
				}
				time.Sleep(5 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			for id, n := range acked {
				if n != 1 {
					t.Fatalf("message %d acked %d times", id, n)
				}
			}
			if fails != 0 {
				t.Fatalf("%d trees failed", fails)
			}
			for k := range 3 {
				if key := keyOf(k); sums[key] != total/3 {
					t.Fatalf("counts of %s add up to %d, want %d (all: %v)", key, sums[key], total/3, sums)
				}
			}
		})
	}
}
