package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/twmb/franz-go/pkg/kfake"
)

// ordersCluster is what the order analysis runs against on node
// processes: ZooKeeper, Redis, an in-process broker holding the orders
// (their truth kept), and the squall binary.
type ordersCluster struct {
	z     *testinfra.ZooKeeper
	r     *testinfra.Redis
	k     *testinfra.Kafka
	rc    *goredis.Client
	truth *orders.Truth
	bin   string
}

// startOrdersCluster starts the servers and fills topic "orders" (8
// partitions) with n order lines.
func startOrdersCluster(t *testing.T, n int) *ordersCluster {
	t.Helper()
	c := &ordersCluster{
		z: testinfra.StartZooKeeper(t),
		r: testinfra.StartRedis(t),
		k: testinfra.StartKafka(t, kfake.SeedTopics(8, "orders")),
	}
	c.rc = goredis.NewClient(&goredis.Options{Addr: c.r.Addr()})
	t.Cleanup(func() { c.rc.Close() })
	c.truth = fillOrders(t, c.k.Brokers(), n)
	c.bin = buildSquall(t)
	return c
}

// submit submits the order analysis, reading the broker and writing Redis.
func (c *ordersCluster) submit(t *testing.T) {
	t.Helper()
	args := []string{"submit", "orders", "--zk", c.z.Addr()}
	for _, s := range []string{"brokers=" + c.k.Brokers()[0], "redis=" + c.r.Addr(), "topology.message.timeout.secs=5", "spouts=3", "parsers=3", "writers=3"} {
		args = append(args, "--set", s)
	}
	if out, err := squallCLI(t, c.bin, args...); err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
}

// waitForTruth waits until every figure in Redis equals the truth.
func waitForTruth(t *testing.T, truth *orders.Truth, rc *goredis.Client, keys orders.Keys) {
	t.Helper()
	check.For(t, 180*time.Second, func() error {
		diffs, err := truth.Diff(context.Background(), rc, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%d figures in Redis differ from the truth, as %s", len(diffs), strings.Join(diffs[:min(3, len(diffs))], "; "))
		}
		return nil
	})
}

// ordersCounted is a condition: Redis counts at least n orders.
func ordersCounted(rc *goredis.Client, keys orders.Keys, n int64) func() error {
	return func() error {
		got, err := rc.HGet(context.Background(), keys.Totals(), "orders").Int64()
		if got < n {
			return fmt.Errorf("%d of %d orders counted (%v)", got, n, err)
		}
		return nil
	}
}

// throughput samples the orders Redis counts, to tell how long processing
// took to recover after a kill.
type throughput struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at     time.Time
	orders int64
}

func (tp *throughput) run(ctx context.Context, rc *goredis.Client, key string) {
	for ctx.Err() == nil {
		n, _ := rc.HGet(ctx, key, "orders").Int64()
		tp.mu.Lock()
		tp.samples = append(tp.samples, sample{time.Now(), n})
		tp.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

// rate is orders/s over the window before at.
func (tp *throughput) rate(at time.Time, window time.Duration) float64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var first, last *sample
	for i := range tp.samples {
		s := &tp.samples[i]
		if s.at.After(at) {
			break
		}
		if first == nil && !s.at.Before(at.Add(-window)) {
			first = s
		}
		last = s
	}
	if first == nil || last == nil || !last.at.After(first.at) {
		return 0
	}
	return float64(last.orders-first.orders) / last.at.Sub(first.at).Seconds()
}

// recovery waits until the rate over a second is back to half the rate
// before the kill, and returns how long that took.
func (tp *throughput) recovery(t *testing.T, killed time.Time, before float64) time.Duration {
	t.Helper()
	var took time.Duration
	check.For(t, 60*time.Second, func() error {
		now := time.Now()
		if now.Sub(killed) < time.Second {
			return errors.New("less than a second since the kill")
		}
		if rate := tp.rate(now, time.Second); rate < before/2 {
			return fmt.Errorf("%.0f orders/s, want half of %.0f", rate, before)
		}
		took = now.Sub(killed) - time.Second // the window that showed it
		return nil
	})
	return took
}

// fillOrders produces n order lines (1% garbage) to the orders topic and
// returns their truth.
func fillOrders(t *testing.T, brokers []string, n int) *orders.Truth {
	t.Helper()
	truth := orders.NewTruth()
	var log bytes.Buffer
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if _, err := orders.WriteOrders(context.Background(), &log, orders.LogOptions{
		Count: n, Malformed: 0.01, Seed: 11, Truth: truth,
		Now: func() time.Time { at = at.Add(time.Millisecond); return at },
	}); err != nil {
		t.Fatal(err)
	}
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Flush.Messages = 1000
	conf.Producer.Flush.Frequency = time.Millisecond
	p, err := sarama.NewAsyncProducer(brokers, conf)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(log.Bytes(), []byte("\n")), []byte("\n"))
	go func() {
		for _, l := range lines {
			p.Input() <- &sarama.ProducerMessage{Topic: "orders", Value: sarama.ByteEncoder(l)}
		}
	}()
	for range lines {
		select {
		case <-p.Successes():
		case err := <-p.Errors():
			t.Fatal(err)
		}
	}
	p.Close()

	return truth
}

// Three `squall node` processes on 127.0.0.1/2/3 run the order analysis
// over 200k orders from the in-process broker; a non-leader, then the
// leader are killed with kill -9 mid-run; Redis ends equal to the truth.
func TestOrdersOnThreeNodeProcessesSurviveKill9(t *testing.T) {
	const n = 200_000
	c := startOrdersCluster(t, n)
	z, rc, truth, bin := c.z, c.rc, c.truth, c.bin
	var nodes []*squallProcess
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		nodes = append(nodes, startNodeProcess(t, bin, z.Addr(), host+":0"))
	}
	waitForNodes(t, bin, z.Addr(), 3)
	c.submit(t)
	keys := orders.Keys{Prefix: orders.DefaultPrefix}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tp := &throughput{}
	go tp.run(ctx, rc, keys.Totals())

	isLeader := regexp.MustCompile(`became leader`)
	kill := func(leader bool, after int64) {
		check.For(t, 120*time.Second, ordersCounted(rc, keys, after))
		for i, nd := range nodes {
			if nd == nil || isLeader.MatchString(nd.output()) != leader {
				continue
			}
			before := tp.rate(time.Now(), time.Second)
			killed := time.Now()
			if err := nd.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			nodes[i] = nil
			took := tp.recovery(t, killed, before)
			t.Logf("kill -9 of the %s node at %d orders (%.0f orders/s): throughput back to half within %v",
				map[bool]string{true: "leader", false: "non-leader"}[leader], after, before, took.Round(100*time.Millisecond))
			return
		}
		t.Fatalf("no live %s node to kill", map[bool]string{true: "leader", false: "non-leader"}[leader])
	}
	kill(false, n/4)
	kill(true, n/2)

	waitForTruth(t, truth, rc, keys)
	t.Logf("%d orders and %d malformed lines on 3 node processes, 2 of them killed: Redis equals the truth", truth.Orders, truth.Malformed)
}

// Rebalancing the order analysis from two node processes to three mid-run
// loses nothing: Redis ends equal to the truth.
func TestOrdersRebalancedFromTwoToThreeNodeProcesses(t *testing.T) {
	const n = 100_000
	c := startOrdersCluster(t, n)
	z, rc, truth, bin := c.z, c.rc, c.truth, c.bin
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		startNodeProcess(t, bin, z.Addr(), host+":0")
	}
	c.submit(t)
	keys := orders.Keys{Prefix: orders.DefaultPrefix}
	check.For(t, 120*time.Second, ordersCounted(rc, keys, n/3))

	startNodeProcess(t, bin, z.Addr(), "127.0.0.3:0")
	if out, err := squallCLI(t, bin, "rebalance", "orders", "--zk", z.Addr(), "--workers", "3"); err != nil {
		t.Fatalf("rebalance: %v\n%s", err, out)
	}
	onThree := regexp.MustCompile(`orders\s+active\s+\d+\s+\S+,\S+,\S+`)
	check.For(t, 60*time.Second, func() error {
		if out, _ := squallCLI(t, bin, "list", "--zk", z.Addr()); !onThree.MatchString(out) {
			return fmt.Errorf("the topology not on three nodes:\n%s", out)
		}
		return nil
	})
	waitForTruth(t, truth, rc, keys)
	t.Logf("%d orders rebalanced from 2 to 3 node processes mid-run (at %d counted): Redis equals the truth", truth.Orders, n/3)
}
