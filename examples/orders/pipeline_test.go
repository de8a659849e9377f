package orders

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/internal/check"
)

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
	r := newPipelineRig(t, 100*time.Millisecond)
	log := filepath.Join(r.dir, "orders.log")
	truth := NewTruth()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	writeLog(t, log, 25_000, 7, start, truth)

	agent := r.startAgent(context.Background(), "*.log")
	defer agent.Stop()
	orders := func() int64 { n, _ := r.rc.HGet(context.Background(), r.keys.Totals(), "orders").Int64(); return n }

	ctx, cancel := context.WithCancel(context.Background())
	lt := r.runAnalysis(ctx)
	check.For(t, 60*time.Second, func() error {
		if n := orders(); n <= 10_000 {
			return fmt.Errorf("%d orders in Redis, want more than 10000 before the kill", n)
		}
		return nil
	})
	cancel()
	<-lt.Done()

	writeLog(t, log, 25_000, 8, start.Add(250*time.Second), truth)
	lines, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The tail agent re-sending after a crash: 500 lines twice.
	produceLines(t, r.k.Brokers(), "orders", bytes.Split(lines, []byte("\n"))[30_000:30_500])
	lt = r.runAnalysis(context.Background())
	defer lt.Shutdown()
	r.waitForTruth(truth, 120*time.Second)
	// The last five minutes of order time: 10:04 to 10:08 inclusive.
	var wantOrders, wantGMV int64
	for m := 4; m <= 8; m++ {
		b := fmt.Sprintf("2026112510%02d", m)
		wantOrders += truth.MinuteOrders[b]
		wantGMV += truth.MinuteGMV[b]
	}
	var win map[string]string
	check.For(t, 10*time.Second, func() error {
		win, err = r.rc.HGetAll(context.Background(), r.keys.Window5m()).Result()
		if err != nil || win["orders"] != fmt.Sprint(wantOrders) || win["gmv"] != fmt.Sprint(wantGMV) {
			return fmt.Errorf("the 5-minute window is %v (%v), want %d orders and GMV %d", win, err, wantOrders, wantGMV)
		}
		return nil
	})
	t.Logf("%d orders, %d malformed lines, GMV ¥%.2f: Redis matches the truth after a kill and 500 re-sent lines; window %v",
		truth.Orders, truth.Malformed, float64(truth.GMV)/100, win)
}
