package window

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

func keyOf(n int) string { return fmt.Sprint("province-", n%3) }

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
			orders := topologytest.NewLedger(total, nKey, func(n int) topology.Values { return topology.Values{int64(n), keyOf(n)} })
			var mu sync.Mutex
			sums := make(map[string]int64)
			b := topology.NewBuilder()
			b.SetSpout("orders", orders.Spout, 1)
			b.SetBolt("per-province", New(Count("key"), conf), 2).FieldsGrouping("orders", "key")
			b.SetBolt("sum", topologytest.BasicFunc(nil, func(t *topology.Tuple, _ topology.BasicOutputCollector) error {
				mu.Lock()
				defer mu.Unlock()
				sums[t.StringByField("key")] += t.Int64ByField("count")
				return nil
			}), 1).ShuffleGrouping("per-province")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer lt.Shutdown()
			check.For(t, 30*time.Second, orders.AllAcked)
			orders.CheckExactlyOnce(t)
			if n := orders.Failed(); n != 0 {
				t.Fatalf("%d trees failed", n)
			}
			mu.Lock()
			defer mu.Unlock()
			for k := range 3 {
				if key := keyOf(k); sums[key] != total/3 {
					t.Fatalf("counts of %s add up to %d, want %d (all: %v)", key, sums[key], total/3, sums)
				}
			}
		})
	}
}
