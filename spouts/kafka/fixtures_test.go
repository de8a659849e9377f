package kafka

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

var quiet = slog.New(slog.DiscardHandler)

// produce writes n messages "m-<i>" spread over the topic's partitions by
// key, and returns when Kafka has all of them.
func produce(t *testing.T, brokers []string, topic string, from, n int) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.RequiredAcks = sarama.WaitForAll
	conf.Producer.Flush.Messages = 500
	conf.Producer.Flush.Frequency = time.Millisecond
	p, err := sarama.NewAsyncProducer(brokers, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			select {
			case <-p.Successes():
			case err := <-p.Errors():
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := from; i < from+n; i++ {
		v := fmt.Sprintf("m-%d", i)
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v)}
	}
	if err := <-done; err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// produceValue writes one message.
func produceValue(t *testing.T, brokers []string, topic, value string) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(brokers, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(value)}); err != nil {
		t.Fatal(err)
	}
}

// endOffsets returns each partition's log end offset.
func endOffsets(t *testing.T, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	c, err := sarama.NewClient(brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ps, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range ps {
		if out[p], err = c.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// setByOperator stores offsets of a topic's partitions for a spout as
// `squall offsets set` does (cluster.SetOffsets): written by task -1, which
// a spout resumes from whatever its first poll strategy.
func setByOperator(t *testing.T, zk zkstore.Options, topo, spout, topic string, offsets map[int32]int64) {
	t.Helper()
	o, err := zkstore.OpenOffsets(zk)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var set []zkstore.SpoutOffset
	for p, off := range offsets {
		set = append(set, zkstore.SpoutOffset{Spout: spout, Topic: topic, Partition: p, Offset: off, Time: time.Now().UTC(), Task: -1})
	}
	if err := o.Put(topo, set); err != nil {
		t.Fatal(err)
	}
}

// stored returns the offsets a topology's spout stored in ZooKeeper.
func stored(t *testing.T, zk zkstore.Options, topo string) map[int32]int64 {
	t.Helper()
	o, err := zkstore.OpenOffsets(zk)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	list, err := o.List(topo)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, so := range list {
		out[so.Partition] = so.Offset
	}
	return out
}

// storedAt returns a condition that holds once the offsets topology topo's
// spout stored in ZooKeeper are ends.
func storedAt(t *testing.T, zk zkstore.Options, topo string, ends map[int32]int64) func() error {
	return func() error {
		got := stored(t, zk, topo)
		for p, end := range ends {
			if got[p] != end {
				return fmt.Errorf("offsets stored %v, want %v", got, ends)
			}
		}
		return nil
	}
}

// ledger records what a test topology saw: by message value, what the bolt
// processed and where it was read, and what the spout acked. It is not
// topologytest's Ledger, whose spouts emit ids of their own: here Kafka
// holds the messages and the spout under test emits them.
type ledger struct {
	mu        sync.Mutex
	processed map[string]int // value → times the bolt acked it
	acked     map[string]int // value → times the spout's Ack was called
	failed    map[string]bool
	where     map[string]place
	failures  atomic.Int64
}

func newLedger() *ledger {
	return &ledger{processed: map[string]int{}, acked: map[string]int{}, failed: map[string]bool{}, where: map[string]place{}}
}

func (l *ledger) counts() (processed, acked int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.processed), len(l.acked)
}

// hasProcessed returns a condition that holds once the topology has
// processed want distinct messages.
func (l *ledger) hasProcessed(want int) func() error {
	return func() error {
		if p, _ := l.counts(); p != want {
			return fmt.Errorf("%d of %d messages processed", p, want)
		}
		return nil
	}
}

// hasAcked returns a condition that holds once the spout has acked want
// distinct messages.
func (l *ledger) hasAcked(want int) func() error {
	return func() error {
		if _, a := l.counts(); a != want {
			return fmt.Errorf("%d of %d messages acked at the spout", a, want)
		}
		return nil
	}
}

type place struct {
	partition int32
	offset    int64
}

// ledgerSpout counts the spout's acks by message value.
type ledgerSpout struct {
	*Spout
	l *ledger
}

func (s ledgerSpout) Ack(id any) {
	if m := id.(*message); !m.done && !m.p.closed {
		s.l.mu.Lock()
		s.l.acked[string(m.rec.Value)]++
		s.l.mu.Unlock()
	}
	s.Spout.Ack(id)
}

// ledgerBolt acks each tuple and records its value, failing a pseudo-random
// failPermille of first deliveries.
type ledgerBolt struct {
	l            *ledger
	failPermille uint32
	out          topology.OutputCollector
}

func (b *ledgerBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *ledgerBolt) Prepare(_ *topology.TopologyContext, out topology.OutputCollector) error {
	b.out = out
	return nil
}
func (b *ledgerBolt) Cleanup() error { return nil }
func (b *ledgerBolt) Execute(tp *topology.Tuple) {
	v := string(tp.BytesByField("value"))
	b.l.mu.Lock()
	_, failedBefore := b.l.failed[v]
	b.l.mu.Unlock()
	if !failedBefore && b.failPermille > 0 {
		h := fnv.New32a()
		h.Write([]byte(v))
		if h.Sum32()%1000 < b.failPermille {
			b.l.mu.Lock()
			b.l.failed[v] = true // the replay succeeds
			b.l.mu.Unlock()
			b.l.failures.Add(1)
			b.out.Fail(tp)
			return
		}
	}
	b.l.mu.Lock()
	b.l.processed[v]++
	b.l.where[v] = place{int32(tp.Int64ByField("partition")), tp.Int64ByField("offset")}
	b.l.mu.Unlock()
	b.out.Ack(tp)
}

// run starts topology name: the spout (tasks tasks) → the ledger bolt.
func run(t *testing.T, ctx context.Context, name string, conf Config, tasks int, l *ledger, failPermille uint32) *actors.LocalTopology {
	t.Helper()
	factory, err := New(conf)
	if err != nil {
		t.Fatal(err)
	}
	b := topology.NewBuilder()
	b.SetSpout("orders", func() topology.Spout {
		return ledgerSpout{Spout: factory().(*Spout), l: l}
	}, tasks)
	b.SetBolt("count", func() topology.Bolt { return &ledgerBolt{l: l, failPermille: failPermille} }, 2).ShuffleGrouping("orders")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lt, err := actors.RunLocal(ctx, topo, topology.Config{Name: name, Logger: quiet, MessageTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func baseConfig(k *testinfra.Kafka, zk *testinfra.ZooKeeper, topic string) Config {
	return Config{
		Brokers:        k.Brokers(),
		Topics:         []string{topic},
		Offsets:        OffsetStorage{ZooKeeper: &zkstore.Options{Servers: []string{zk.Addr()}, Logger: quiet}},
		CommitInterval: 100 * time.Millisecond,
		Retry:          Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		Logger:         quiet,
	}
}
