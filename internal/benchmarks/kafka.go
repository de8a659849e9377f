package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	kafkaPartitions = 4
	kafkaValueSize  = 100
)

// kafkaSuite measures the Kafka spout (one task, every message acked by a
// bolt) against a plain sarama consumer reading the same topic from the
// same in-process broker, and the spout's end-to-end latency (produce to
// bolt) at a fixed input rate. Rates are taken once a twentieth of the
// messages went through (see steadyRate).
func kafkaSuite(d time.Duration) ([]result, error) {
	var rows []result
	var err error
	testing.Benchmark(func(b *testing.B) {
		k := testinfra.StartKafka(b, kfake.SeedTopics(kafkaPartitions, "bench", "latency"))
		n := int(1_000_000 * d.Seconds() / 5)
		if err = fill(k.Brokers(), "bench", n); err != nil {
			return
		}
		var base, tuned, spout float64
		if base, err = saramaRate(k.Brokers(), "bench", n, false); err != nil {
			return
		}
		if tuned, err = saramaRate(k.Brokers(), "bench", n, true); err != nil {
			return
		}
		if spout, err = spoutRate(k.Brokers(), "bench", n, filepath.Join(b.TempDir(), "offsets.json")); err != nil {
			return
		}
		var p50, p99 time.Duration
		if p50, p99, err = spoutLatency(k.Brokers(), "latency", 5000, d, filepath.Join(b.TempDir(), "latency.json")); err != nil {
			return
		}
		rows = []result{
			{name: "kafka-sarama-consumer-baseline", value: base, unit: "msgs/s"},
			{name: "kafka-sarama-consumer-tuned", value: tuned, unit: "msgs/s"},
			{name: "kafka-spout", value: spout, unit: "acked msgs/s", baseline: "kafka-sarama-consumer-baseline", target: 0.7},
			{name: "kafka-spout-vs-tuned", value: spout, unit: "acked msgs/s", baseline: "kafka-sarama-consumer-tuned"},
			{name: "kafka-spout-latency-p50@5k/s", value: float64(p50.Microseconds()) / 1000, unit: "ms"},
			{name: "kafka-spout-latency-p99@5k/s", value: float64(p99.Microseconds()) / 1000, unit: "ms"},
		}
	})
	if err == nil && rows == nil {
		err = errors.New("kafka benchmark did not run")
	}
	return rows, err
}

func benchProducer(brokers []string) (sarama.AsyncProducer, error) {
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Flush.Messages = 1000
	conf.Producer.Flush.Frequency = time.Millisecond
	return sarama.NewAsyncProducer(brokers, conf)
}

// fill produces n messages of kafkaValueSize bytes, round-robin over the
// partitions.
func fill(brokers []string, topic string, n int) error {
	p, err := benchProducer(brokers)
	if err != nil {
		return err
	}
	defer p.Close()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			select {
			case <-p.Successes():
			case perr := <-p.Errors():
				errc <- perr
				return
			}
		}
		errc <- nil
	}()
	value := make([]byte, kafkaValueSize)
	for i := 0; i < n; i++ {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Partition: int32(i % kafkaPartitions), Value: sarama.ByteEncoder(value)}
	}
	return <-errc
}

// saramaRate consumes n messages from every partition's start with one
// sarama consumer, with sarama's default settings or (tuned) the spout's
// fetch settings, and returns messages/s.
func saramaRate(brokers []string, topic string, n int, tuned bool) (float64, error) {
	conf := sarama.NewConfig()
	if tuned {
		// The spout's fetch size and buffer: what is left between the two
		// is the spout's own cost.
		conf.ChannelBufferSize = 16384
		conf.Consumer.Fetch.Default = 4 << 20
	}
	c, err := sarama.NewConsumer(brokers, conf)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var got atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for p := range int32(kafkaPartitions) {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return 0, err
		}
		defer pc.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range pc.Messages() {
				if got.Add(1) >= int64(n) {
					return
				}
			}
		}()
	}
	return steadyRate(&got, n, start, "sarama consumer")
}

// steadyRate waits until count reaches n and returns the rate from the
// twentieth of n on, so that connecting and finding partitions, which the
// spout and the plain consumer do differently, do not weigh on a short run.
func steadyRate(count *atomic.Int64, n int, start time.Time, what string) (float64, error) {
	deadline := time.Now().Add(5 * time.Minute)
	from, fromCount := start, int64(0)
	for count.Load() < int64(n) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %d of %d messages", what, count.Load(), n)
		}
		if c := count.Load(); fromCount == 0 && c >= int64(n/20) {
			from, fromCount = time.Now(), c
		}
		time.Sleep(time.Millisecond)
	}
	return float64(int64(n)-fromCount) / time.Since(from).Seconds(), nil
}

// ackCountBolt acks every tuple, counting them, and records the latency of
// those carrying a produce time.
type ackCountBolt struct {
	out     topology.OutputCollector
	acked   *atomic.Int64
	latency func(time.Duration)
}

func (b *ackCountBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *ackCountBolt) Prepare(_ *topology.TopologyContext, out topology.OutputCollector) error {
	b.out = out
	return nil
}
func (b *ackCountBolt) Cleanup() error { return nil }
func (b *ackCountBolt) Execute(t *topology.Tuple) {
	if b.latency != nil {
		v := t.BytesByField("value")
		b.latency(time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(v)))))
	}
	b.acked.Add(1)
	b.out.Ack(t)
}

func runSpout(brokers []string, topic, offsets string, acked *atomic.Int64, latency func(time.Duration)) (*actors.LocalTopology, error) {
	quiet := slog.New(slog.DiscardHandler)
	factory, err := kafka.New(kafka.Config{
		Brokers: brokers, Topics: []string{topic}, Offsets: kafka.OffsetStorage{File: offsets},
		FirstPoll: kafka.Earliest, Mapping: kafka.Parts(kafka.FieldValue("value")), Logger: quiet,
	})
	if err != nil {
		return nil, err
	}
	b := topology.NewBuilder()
	b.SetSpout("kafka", factory, 1)
	b.SetBolt("count", func() topology.Bolt { return &ackCountBolt{acked: acked, latency: latency} }, 1).ShuffleGrouping("kafka")
	topo, err := b.Build()
	if err != nil {
		return nil, err
	}
	return actors.RunLocal(context.Background(), topo, topology.Config{Name: "bench-" + topic, Logger: quiet})
}

// spoutRate runs the spout over n messages from the start and returns
// acked messages/s.
func spoutRate(brokers []string, topic string, n int, offsets string) (float64, error) {
	var acked atomic.Int64
	start := time.Now()
	lt, err := runSpout(brokers, topic, offsets, &acked, nil)
	if err != nil {
		return 0, err
	}
	defer lt.Shutdown()
	return steadyRate(&acked, n, start, "kafka spout")
}

// spoutLatency produces rate messages/s for d, each carrying its produce
// time, and returns the 50th and 99th percentile of produce-to-bolt time.
func spoutLatency(brokers []string, topic string, rate int, d time.Duration, offsets string) (p50, p99 time.Duration, err error) {
	var mu sync.Mutex
	var lat []time.Duration
	var acked atomic.Int64
	lt, err := runSpout(brokers, topic, offsets, &acked, func(l time.Duration) {
		mu.Lock()
		lat = append(lat, l)
		mu.Unlock()
	})
	if err != nil {
		return 0, 0, err
	}
	defer lt.Shutdown()
	p, err := benchProducer(brokers)
	if err != nil {
		return 0, 0, err
	}
	go func() {
		for range p.Successes() {
		}
	}()
	go func() {
		for range p.Errors() {
		}
	}()
	start := time.Now()
	// The spout opens its partitions on its own goroutine after the
	// topology starts: messages produced before that wait for it, which is
	// start-up time, not latency. One message per partition, and waiting
	// for all to arrive, makes sure every partition is being read.
	send := func(partition int) {
		v := make([]byte, kafkaValueSize)
		binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Partition: int32(partition), Value: sarama.ByteEncoder(v)}
	}
	for i := range kafkaPartitions {
		send(i)
	}
	for acked.Load() < kafkaPartitions {
		if time.Since(start) > time.Minute {
			return 0, 0, fmt.Errorf("latency run: warm-up messages did not arrive in a minute")
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	lat = lat[:0]
	mu.Unlock()
	acked.Store(0)
	n := int(float64(rate) * d.Seconds())
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start = time.Now()
	for sent := 0; sent < n; {
		<-tick.C
		due := min(n, int(time.Since(start).Seconds()*float64(rate)))
		for ; sent < due; sent++ {
			send(sent % kafkaPartitions)
		}
	}
	p.Close()
	deadline := time.Now().Add(time.Minute)
	for acked.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) < n {
		return 0, 0, fmt.Errorf("latency run: %d of %d messages arrived", len(lat), n)
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}
