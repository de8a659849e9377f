package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// eventFields are what the events of a run carry.
var eventFields = topology.NewFields("orderId", "province", "qty")

// events returns a ledger of the events 0..n-1 (order id, province,
// quantity), whose spouts replay failed ones until each is acked.
func events(n int) *topologytest.Ledger {
	return topologytest.NewLedger(n, eventFields, func(id int) topology.Values {
		return topology.Values{"O" + strconv.Itoa(id), provinceOf(id), int64(id%7 + 1)}
	})
}

var provinces = []string{"广东", "浙江", "江苏", "北京", "上海"}

func provinceOf(id int) string { return provinces[id%len(provinces)] }

// truth is what the totals must be: orders and quantity per province.
func truth(n int) (orders, qty map[string]int64) {
	orders, qty = map[string]int64{}, map[string]int64{}
	for id := 0; id < n; id++ {
		orders[provinceOf(id)]++
		qty[provinceOf(id)] += int64(id%7 + 1)
	}
	return orders, qty
}

func totalsMapper(prefix string) Mapper {
	return Mappers(
		HashIncrement{Key: Key{Prefix: prefix, Name: "orders"}, FieldField: "province"},
		HashIncrement{Key: Key{Prefix: prefix, Name: "qty"}, FieldField: "province", AmountField: "qty"},
	)
}

// crashing panics on the given calls, to crash the writer task.
func crashing(m Mapper, calls *atomic.Int64, at ...int64) Mapper {
	return MapperFunc(func(t *topology.Tuple, c *Commands) error {
		n := calls.Add(1)
		for _, a := range at {
			if n == a {
				panic("forced writer crash")
			}
		}
		return m.Map(t, c)
	})
}

func readTotals(t *testing.T, rc *goredis.Client, prefix string) (orders, qty map[string]int64) {
	t.Helper()
	ctx := context.Background()
	orders, qty = map[string]int64{}, map[string]int64{}
	for k, v := range rc.HGetAll(ctx, prefix+"orders").Val() {
		orders[k], _ = strconv.ParseInt(v, 10, 64)
	}
	for k, v := range rc.HGetAll(ctx, prefix+"qty").Val() {
		qty[k], _ = strconv.ParseInt(v, 10, 64)
	}
	return orders, qty
}

func runEvents(t *testing.T, b *topology.Builder) *actors.LocalTopology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{MessageTimeout: 3 * time.Second, RestartBackoff: 10 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lt.Shutdown)
	return lt
}

// TestIdempotentTotalsEqualTruthUnderReplays: 100k events, 2% failing at
// random upstream and the idempotent writer crashing twice: its totals equal
// the truth exactly; a plain writer fed the same tuples counts at least the
// truth, more for every replay.
func TestIdempotentTotalsEqualTruthUnderReplays(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := client(t, r)
	const n = 100000
	ledger := events(n)
	var calls atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("events", ledger.Spout, 1)
	b.SetBolt("flaky", topologytest.BasicFunc(eventFields, failOneIn50), 2).ShuffleGrouping("events")
	b.SetBolt("exact", NewWriter(WriterConfig{Client: rc, Logger: quiet(), Idempotent: &Idempotence{EventField: "orderId"},
		Mapper: crashing(totalsMapper("exact:"), &calls, 20000, 60000)}), 2).FieldsGrouping("flaky", "province")
	b.SetBolt("plain", NewWriter(WriterConfig{Client: rc, Logger: quiet(), Mapper: totalsMapper("plain:")}), 2).ShuffleGrouping("flaky")
	lt := runEvents(t, b)
	check.For(t, 120*time.Second, ledger.AllAcked)

	wantOrders, wantQty := truth(n)
	gotOrders, gotQty := readTotals(t, rc, "exact:")
	for _, p := range provinces {
		if gotOrders[p] != wantOrders[p] || gotQty[p] != wantQty[p] {
			t.Errorf("idempotent %s: %d orders, %d qty; truth %d, %d", p, gotOrders[p], gotQty[p], wantOrders[p], wantQty[p])
		}
	}
	plainOrders, _ := readTotals(t, rc, "plain:")
	var over int64
	for _, p := range provinces {
		if plainOrders[p] < wantOrders[p] {
			t.Errorf("plain %s: %d orders, below the truth %d: a write was lost", p, plainOrders[p], wantOrders[p])
		}
		over += plainOrders[p] - wantOrders[p]
	}
	m, _ := lt.Component("exact")
	if m.Restarts != 2 {
		t.Errorf("idempotent writer restarted %d times, want 2", m.Restarts)
	}
	spout, _ := lt.Component("events")
	t.Logf("%d trees failed and replayed; plain mode over-counted %d orders (%.2f%%); idempotent exact", spout.Failed, over, 100*float64(over)/n)
}

// failOneIn50 passes its tuple on, but fails one in 50 at random.
func failOneIn50(t *topology.Tuple, out topology.BasicOutputCollector) error {
	if rand.IntN(50) == 0 {
		return errors.New("random upstream failure")
	}
	return out.Emit(t.Values())
}

// TestRedisRestartLosesNothing: Redis (persisting every write, as in
// production) stops for 5s mid-run and comes back; writes fail and replay
// meanwhile, and at the end the idempotent totals equal the truth.
func TestRedisRestartLosesNothing(t *testing.T) {
	r := testinfra.StartPersistentRedis(t)
	rc := client(t, r)
	const n = 30000
	ledger := events(n)
	var gate atomic.Bool
	b := topology.NewBuilder()
	b.SetSpout("events", func() topology.Spout { return &gatedSpout{ledger.Spout(), &gate} }, 1)
	b.SetBolt("exact", NewWriter(WriterConfig{Client: rc, Logger: quiet(), Idempotent: &Idempotence{EventField: "orderId"},
		Mapper: totalsMapper("exact:")}), 2).ShuffleGrouping("events")
	lt := runEvents(t, b)
	gate.Store(true)
	check.For(t, 60*time.Second, func() error {
		if done := ledger.Acked(); done < n/3 {
			return fmt.Errorf("%d of %d events acked, want a third before the outage", done, n)
		}
		return nil
	})
	r.Stop()
	time.Sleep(5 * time.Second) // the outage itself is what is tested
	r.Start()
	check.For(t, 120*time.Second, ledger.AllAcked)
	wantOrders, wantQty := truth(n)
	gotOrders, gotQty := readTotals(t, rc, "exact:")
	for _, p := range provinces {
		if gotOrders[p] != wantOrders[p] || gotQty[p] != wantQty[p] {
			t.Errorf("%s: %d orders, %d qty; truth %d, %d", p, gotOrders[p], gotQty[p], wantOrders[p], wantQty[p])
		}
	}
	m, _ := lt.Component("events")
	if m.Failed == 0 {
		t.Error("no tree failed while Redis was down: the outage was not exercised")
	}
	t.Logf("%d trees failed during the outage and replayed", m.Failed)
}

// gatedSpout is a ledger's spout that emits only once the gate is open.
type gatedSpout struct {
	topology.Spout
	gate *atomic.Bool
}

func (s *gatedSpout) NextTuple() {
	if s.gate.Load() {
		s.Spout.NextTuple()
	}
}

// With no Logger of its own, a writer logs through its task's logger: the
// runtime's, with the fields a node gives it, and the topology, component
// and task.
func TestWriterLogsThroughItsTasksLogger(t *testing.T) {
	rc := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer rc.Close()
	ledger := events(1)
	b := topology.NewBuilder()
	b.SetSpout("events", ledger.Spout, 1)
	b.SetBolt("totals", NewWriter(WriterConfig{Client: rc, Mapper: totalsMapper("t:")}), 1).ShuffleGrouping("events")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var logs testinfra.Logs
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Name: "logged", Logger: logs.Logger("node", "n1")})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Shutdown()
	check.For(t, 10*time.Second, func() error {
		if ledger.Failed() == 0 {
			return errors.New("a write to an unreachable Redis has not failed its tuple")
		}
		return nil
	})
	// The writer logs a failed write before it fails the tuple.
	rec := logs.Record("redis write failed; the tuple will replay")
	if rec == nil || rec["node"] != "n1" || rec["topology"] != "logged" || rec["component"] != "totals" || rec["task"] != float64(topo.Tasks("totals")[0]) {
		t.Fatalf("the writer's line does not say where it was written: %v\nlogged:\n%s", rec, logs.String())
	}
}
