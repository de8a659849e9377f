package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

var orderFields = topology.NewFields("n", "province")

// order is the tuple of order n: the even ones are from 浙江.
func order(n int) topology.Values {
	return topology.Values{int64(n), []string{"浙江", "广东"}[n%2]}
}

func TestFilterPassesWhatItKeepsAndAcksEverything(t *testing.T) {
	const total = 1000
	orders := topologytest.NewLedger(total, orderFields, order)
	var mu sync.Mutex
	var got []int64
	b := topology.NewBuilder()
	b.SetSpout("orders", orders.Spout, 1)
	b.SetBolt("zhejiang", New(orderFields, func(t *topology.Tuple) (bool, error) {
		return t.StringByField("province") == "浙江", nil
	}), 2).ShuffleGrouping("orders")
	b.SetBolt("collect", topologytest.BasicFunc(nil, func(t *topology.Tuple, _ topology.BasicOutputCollector) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, t.Int64ByField("n"))
		return nil
	}), 1).ShuffleGrouping("zhejiang")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Shutdown()
	check.For(t, 20*time.Second, orders.AllAcked)
	orders.CheckExactlyOnce(t)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	for i, n := range got {
		if n != int64(2*i) {
			t.Fatalf("passed %v…, want the even orders only", got[:min(len(got), i+1)])
		}
	}
	if len(got) != total/2 {
		t.Fatalf("passed %d orders, want %d", len(got), total/2)
	}
}

func TestFilterErrorFailsTheTuple(t *testing.T) {
	boom := errors.New("boom")
	bolt := New(orderFields, func(*topology.Tuple) (bool, error) { return false, boom })()
	out := &topologytest.Collector{}
	if err := bolt.Prepare(topologytest.BoltContext(t, New(orderFields, nil), orderFields), out); err != nil {
		t.Fatal(err)
	}
	bolt.Execute(topology.NewTuple(topology.Source{Component: "orders"}, orderFields, order(1)))
	if failed, errs := out.Failed(), out.Errors(); len(failed) != 1 || len(errs) != 1 || !errors.Is(errs[0], boom) {
		t.Fatalf("failed %v, reported %v; want the tuple failed and boom reported", failed, errs)
	}
}

func TestFilterRefusesAStreamOfOtherFields(t *testing.T) {
	bolt := New(topology.NewFields("n"), nil)
	err := bolt().Prepare(topologytest.BoltContext(t, bolt, orderFields), &topologytest.Collector{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(orderFields)) {
		t.Fatalf("Prepare: %v, want an error naming the stream's fields", err)
	}
}
