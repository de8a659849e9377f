package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/twmb/franz-go/pkg/kfake"
)

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// orderLog makes n order lines over about eight minutes, every 100th line
// garbage, and the truth of them.
func orderLog(n int) ([][]byte, *Truth) {
	g := NewGenerator(7)
	truth := NewTruth()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var lines [][]byte
	for i := 0; i < n; i++ {
		if i%100 == 99 {
			lines = append(lines, fmt.Appendf(nil, `{"orderId":"broken-%d","quantity":`, i))
			truth.AddMalformed()
			continue
		}
		o := g.Next(start.Add(time.Duration(i) * 10 * time.Millisecond))
		line, _ := json.Marshal(o)
		lines = append(lines, line)
		truth.Add(o)
	}
	return lines, truth
}

func produceLines(t *testing.T, brokers []string, topic string, lines [][]byte) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Flush.Messages = 500
	conf.Producer.Flush.Frequency = time.Millisecond
	p, err := sarama.NewAsyncProducer(brokers, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go func() {
		for _, l := range lines {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(l)}
		}
	}()
	for range lines {
		select {
		case <-p.Successes():
		case err := <-p.Errors():
			t.Fatal(err)
		}
	}
}

// End to end on real Redis and ZooKeeper and the in-process broker: 50k
// order lines (1% garbage, 500 shipped twice) through the analysis, with a
// kill and restart of the topology mid-run, end with every figure in Redis
// equal to the truth.
func TestPipelineMatchesTruth(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(4, "orders"))
	zk := testinfra.StartZooKeeper(t)
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	lines, truth := orderLog(50_000)
	produceLines(t, k.Brokers(), "orders", lines[:25_000])

	quiet := slog.New(slog.DiscardHandler)
	conf := AnalysisConfig{
		Kafka: kafka.Config{
			Brokers: k.Brokers(), Topics: []string{"orders"}, Logger: quiet,
			Offsets: kafka.OffsetStorage{ZooKeeper: &cluster.ZKOptions{Servers: []string{zk.Addr()}, Logger: quiet}},
		},
		Redis: rc, Logger: quiet, WindowEvery: 100 * time.Millisecond,
	}
	start := func(ctx context.Context) *actors.LocalTopology {
		topo, err := AnalysisTopology(conf)
		if err != nil {
			t.Fatal(err)
		}
		lt, err := actors.RunLocal(ctx, topo, topology.Config{Name: "orders", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return lt
	}
	keys := Keys{Prefix: DefaultPrefix}
	orders := func() int64 { n, _ := rc.HGet(context.Background(), keys.Totals(), "orders").Int64(); return n }

	ctx, cancel := context.WithCancel(context.Background())
	lt := start(ctx)
	waitFor(t, 60*time.Second, "orders in Redis before the kill", func() bool { return orders() > 10_000 })
	cancel()
	<-lt.Done()

	produceLines(t, k.Brokers(), "orders", lines[25_000:])
	produceLines(t, k.Brokers(), "orders", lines[30_000:30_500]) // the tail agent re-sending after a crash
	lt = start(context.Background())
	defer lt.Shutdown()
	var diffs []string
	waitFor(t, 120*time.Second, "Redis to match the truth", func() bool {
		var err error
		if diffs, err = truth.Diff(context.Background(), rc, keys); err != nil {
			t.Fatal(err)
		}
		return len(diffs) == 0
	})
	win, err := rc.HGetAll(context.Background(), keys.Window5m()).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The last five minutes of order time: 10:04 to 10:08 inclusive.
	var wantOrders, wantGMV int64
	for m := 4; m <= 8; m++ {
		b := fmt.Sprintf("2026112510%02d", m)
		wantOrders += truth.MinuteOrders[b]
		wantGMV += truth.MinuteGMV[b]
	}
	waitFor(t, 10*time.Second, "the 5-minute window", func() bool {
		win, err = rc.HGetAll(context.Background(), keys.Window5m()).Result()
		return err == nil && win["orders"] == fmt.Sprint(wantOrders) && win["gmv"] == fmt.Sprint(wantGMV)
	})
	t.Logf("%d orders, %d malformed lines, GMV ¥%.2f: Redis matches the truth after a kill and 500 re-sent lines; window %v",
		truth.Orders, truth.Malformed, float64(truth.GMV)/100, win)
}
