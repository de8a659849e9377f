package orders

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/ingest"
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

// writeLog appends n order lines (1% garbage) to path, created a second
// apart from start on, counting them in truth.
func writeLog(t *testing.T, path string, n int, seed uint64, start time.Time, truth *Truth) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := start
	now := func() time.Time { at = at.Add(10 * time.Millisecond); return at }
	if _, err := WriteOrders(context.Background(), f, LogOptions{Count: n, Malformed: 0.01, Seed: seed, Truth: truth, Now: now}); err != nil {
		t.Fatal(err)
	}
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
// order lines (1% garbage) written to a log, shipped by the tail agent,
// analysed with a kill and restart of the topology mid-run and 500 lines
// shipped twice, end with every figure in Redis equal to the truth.
func TestPipelineMatchesTruth(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(4, "orders"))
	zk := testinfra.StartZooKeeper(t)
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	log := filepath.Join(dir, "orders.log")
	truth := NewTruth()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	writeLog(t, log, 25_000, 7, start, truth)

	agent, err := ingest.Start(context.Background(), ingest.Config{
		Brokers: k.Brokers(), Positions: filepath.Join(dir, "positions.json"), Logger: quiet,
		Groups: []ingest.FileGroup{{Topic: "orders", Globs: []string{filepath.Join(dir, "*.log")}, KeyField: "orderId"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Stop()

	conf := AnalysisConfig{
		Kafka: kafka.Config{
			Brokers: k.Brokers(), Topics: []string{"orders"}, Logger: quiet,
			Offsets: kafka.OffsetStorage{ZooKeeper: &cluster.ZKOptions{Servers: []string{zk.Addr()}, Logger: quiet}},
		},
		Redis: rc, Logger: quiet, WindowEvery: 100 * time.Millisecond,
	}
	run := func(ctx context.Context) *actors.LocalTopology {
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
	lt := run(ctx)
	waitFor(t, 60*time.Second, "orders in Redis before the kill", func() bool { return orders() > 10_000 })
	cancel()
	<-lt.Done()

	writeLog(t, log, 25_000, 8, start.Add(250*time.Second), truth)
	lines, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The tail agent re-sending after a crash: 500 lines twice.
	produceLines(t, k.Brokers(), "orders", bytes.Split(lines, []byte("\n"))[30_000:30_500])
	lt = run(context.Background())
	defer lt.Shutdown()
	var diffs []string
	waitFor(t, 120*time.Second, "Redis to match the truth", func() bool {
		var err error
		if diffs, err = truth.Diff(context.Background(), rc, keys); err != nil {
			t.Fatal(err)
		}
		return len(diffs) == 0
	})
	// The last five minutes of order time: 10:04 to 10:08 inclusive.
	var wantOrders, wantGMV int64
	for m := 4; m <= 8; m++ {
		b := fmt.Sprintf("2026112510%02d", m)
		wantOrders += truth.MinuteOrders[b]
		wantGMV += truth.MinuteGMV[b]
	}
	var win map[string]string
	waitFor(t, 10*time.Second, "the 5-minute window", func() bool {
		win, err = rc.HGetAll(context.Background(), keys.Window5m()).Result()
		return err == nil && win["orders"] == fmt.Sprint(wantOrders) && win["gmv"] == fmt.Sprint(wantGMV)
	})
	t.Logf("%d orders, %d malformed lines, GMV ¥%.2f: Redis matches the truth after a kill and 500 re-sent lines; window %v",
		truth.Orders, truth.Malformed, float64(truth.GMV)/100, win)
}
