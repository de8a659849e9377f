package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Every message is acked exactly once by the spout despite 1% failures,
// and the stored offsets end at the log end offsets.
func TestEveryMessageAckedAndCommitted(t *testing.T) {
	const n = 100_000
	k := testinfra.StartKafka(t, kfake.SeedTopics(8, "orders"))
	zk := testinfra.StartZooKeeper(t)
	produce(t, k.Brokers(), "orders", 0, n)

	l := newLedger()
	conf := baseConfig(k, zk, "orders")
	lt := run(t, context.Background(), "acked", conf, 3, l, 10)
	wait(t, 60*time.Second, "every message acked", func() bool {
		_, acked := l.counts()
		return acked == n
	})
	ends := endOffsets(t, k.Brokers(), "orders")
	zo := cluster.ZKOptions{Servers: []string{zk.Addr()}, Logger: quiet}
	wait(t, 10*time.Second, "offsets stored up to the log end", func() bool {
		got := stored(t, zo, "acked")
		for p, end := range ends {
			if got[p] != end {
				return false
			}
		}
		return true
	})
	lt.Shutdown()

	l.mu.Lock()
	defer l.mu.Unlock()
	for v, times := range l.acked {
		if times != 1 {
			t.Errorf("%s acked %d times", v, times)
		}
	}
	if l.failures.Load() < n/200 {
		t.Errorf("only %d failures injected; the test does not exercise replays", l.failures.Load())
	}
	t.Logf("%d messages, %d failed once and were replayed", n, l.failures.Load())
}
