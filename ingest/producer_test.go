package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/internal/check"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Keyed lines land where sarama's default (hash) partitioner puts them.
func TestKeyPartitionMatchesSarama(t *testing.T) {
	hash := sarama.NewHashPartitioner("t")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20_000 {
		key := make([]byte, r.IntN(40))
		for j := range key {
			key[j] = byte(r.IntN(256))
		}
		if i%2 == 0 {
			key = fmt.Appendf(nil, "o-%09d", i)
		}
		n := int32(1 + r.IntN(64))
		want, err := hash.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(key)}, n)
		if err != nil {
			t.Fatal(err)
		}
		if got := keyPartition(key, n); got != want {
			t.Fatalf("key %q over %d partitions: %d, sarama says %d", key, n, got, want)
		}
	}
}

// offlineProducer is a producer whose batches are inspected rather than
// sent: no send loop runs. Its topic "t" has the given partitions.
func offlineProducer(limit, lines int, linger time.Duration, partitions int) (*producer, *topic) {
	p := &producer{
		limit: limit, batchLines: lines, linger: linger,
		topics: make(map[string]*topic), wake: make(chan struct{}, 1),
		settled: func(int, int64, error) {},
	}
	t := &topic{name: "t"}
	for i := range partitions {
		t.parts = append(t.parts, &partition{topic: t, id: int32(i)})
	}
	p.topics["t"], p.list = t, []*topic{t}
	return p, t
}

// addLines hands n unkeyed lines of 10 bytes (with the newline) to p, as
// the file actor of fs would.
func addLines(p *producer, t *topic, fs *fileState, n int) {
	for range n {
		end := fs.readOff.Add(10)
		p.add(t, fs, nil, []byte("123456789"), end, 10)
	}
}

func newTestFile() *fileState {
	fs := &fileState{topic: "t", tracker: newTracker(0)}
	fs.setPath("/x/a.log")
	return fs
}

func TestBatchesSealByBytesLinesAndLinger(t *testing.T) {
	fs := newTestFile()
	lineSize := encodedSize(nil, []byte("123456789"))

	p, top := offlineProducer(3*lineSize, 100, time.Hour, 1)
	addLines(p, top, fs, 3)
	if part := top.parts[0]; len(part.sealed) != 0 || part.open.lines() != 3 {
		t.Fatalf("3 lines that fit: %d sealed, %d open", len(part.sealed), part.open.lines())
	}
	addLines(p, top, fs, 1)
	if part := top.parts[0]; len(part.sealed) != 1 || part.sealed[0].lines() != 3 || part.open.lines() != 1 {
		t.Fatalf("a 4th line past BatchBytes: %d sealed, open %d", len(part.sealed), part.open.lines())
	}

	p, top = offlineProducer(1<<20, 5, time.Hour, 1)
	addLines(p, top, fs, 12)
	if part := top.parts[0]; len(part.sealed) != 2 || part.sealed[1].lines() != 5 || part.open.lines() != 2 {
		t.Fatalf("12 lines, BatchLines 5: %d sealed, open %d", len(part.sealed), part.open.lines())
	}

	p, top = offlineProducer(1<<20, 100, 50*time.Millisecond, 1)
	addLines(p, top, fs, 2)
	part := top.parts[0]
	created := part.open.created
	if next := p.collect(created.Add(10 * time.Millisecond)); part.open == nil || !next.Equal(created.Add(50*time.Millisecond)) {
		t.Fatalf("sealed before Linger, or due at %v rather than %v", next, created.Add(50*time.Millisecond))
	}
	p.collect(created.Add(50 * time.Millisecond))
	if part.open != nil || len(part.queue) != 1 || part.queue[0].rb == nil || part.queue[0].rb.LastOffsetDelta != 1 {
		t.Fatalf("after Linger: open %v, %d queued", part.open, len(part.queue))
	}
}

// Lines without a key fill one partition's batch, then move to the next:
// a file's lines stay in order within each partition.
func TestUnkeyedLinesStickToOnePartitionPerBatch(t *testing.T) {
	fs := newTestFile()
	p, top := offlineProducer(1<<20, 4, time.Hour, 3)
	first := top.sticky
	addLines(p, top, fs, 12)
	for i := range 3 {
		part := top.parts[(first+i)%3]
		if len(part.sealed) != 1 {
			t.Fatalf("partition %d: %d batches sealed, want 1", part.id, len(part.sealed))
		}
		b := part.sealed[0]
		if want := (seqRun{uint64(4 * i), uint64(4*i + 4)}); len(b.runs) != 1 || b.runs[0] != want {
			t.Fatalf("partition %d holds runs %v, want %v", part.id, b.runs, want)
		}
	}
}

// An answered batch acknowledges all its lines at once; the tracker moves
// over the acknowledged prefix only, and the agent's counts are exact.
func TestBatchAcksMoveTheTracker(t *testing.T) {
	fs := newTestFile()
	p, top := offlineProducer(1<<20, 1000, time.Hour, 2)
	var lines int
	var bytes int64
	p.settled = func(n int, b int64, err error) { lines += n; bytes += b }
	// Keys alternate between the two partitions.
	keys := [][]byte{[]byte("a"), []byte("b")}
	if keyPartition(keys[0], 2) == keyPartition(keys[1], 2) {
		t.Fatal("the keys share a partition")
	}
	for i := range 10 {
		end := fs.readOff.Add(10)
		p.add(top, fs, keys[i%2], []byte("123456789"), end, 10)
	}
	p.collect(time.Now().Add(time.Hour))
	second := top.parts[keyPartition(keys[1], 2)].queue[0]
	firstBatch := top.parts[keyPartition(keys[0], 2)].queue[0]
	if len(second.files) != 1 || len(second.runs) != 5 {
		t.Fatalf("interleaved lines: %d files, runs %v", len(second.files), second.runs)
	}
	p.finish(second, nil)
	if acked, outstanding, _ := fs.tracker.state(); acked != 0 || outstanding != 5 {
		t.Fatalf("the batch of lines 1, 3, ... acknowledged: offset %d, %d outstanding; want 0, 5", acked, outstanding)
	}
	p.finish(firstBatch, nil)
	if acked, outstanding, _ := fs.tracker.state(); acked != 100 || outstanding != 0 || lines != 10 || bytes != 100 {
		t.Fatalf("both batches acknowledged: offset %d, %d outstanding, %d lines, %d bytes; want 100, 0, 10, 100", acked, outstanding, lines, bytes)
	}
}

// writeLines writes n lines of stream "a" to path in bursts of 100, so
// that they go in many batches while the test disturbs Kafka; done is
// closed once all are written.
func writeLines(t *testing.T, path string, n int) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		defer close(done)
		w := newWriter(t, path)
		defer w.close()
		for w.n < n {
			w.write("a")
			if w.n%100 == 0 {
				w.flush()
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	return done
}

// shipThrough runs an agent on dir/a.log while disturb upsets Kafka once
// some lines were acknowledged, and checks that every line arrived, in
// order, without duplicates and without a produce error.
func shipThrough(t *testing.T, conf Config, dir string, disturb func()) {
	const n = 20_000
	a := startAgent(t, context.Background(), conf)
	written := writeLines(t, filepath.Join(dir, "a.log"), n)
	check.For(t, 20*time.Second, linesFlowing(a, 2000))
	disturb()
	<-written
	check.For(t, 40*time.Second, linesAcked(a, n))
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	col := collectFrom(t, conf.Brokers, "orders")
	check.For(t, 20*time.Second, col.atLeast(n))
	if dups := col.check(t, map[string]int{"a": n}, true); len(dups) > 0 {
		t.Fatalf("%d duplicates: retries must resend with the same sequence numbers", len(dups["a"]))
	}
	if m := a.Metrics(); m.ProduceErrors != 0 || m.LinesAcked != n || m.LinesRead != n {
		t.Fatalf("metrics: %d produce errors, %d acked, %d read; want 0, %d, %d", m.ProduceErrors, m.LinesAcked, m.LinesRead, n, n)
	}
}

// Retriable errors (a leader that is not one any more, a timeout after the
// batch was written) make the producer send the same batches again, in
// order: nothing is missing, duplicated or reordered.
func TestRetriableErrorsResendInOrder(t *testing.T) {
	k := startKafka(t, "orders", 3)
	dir := t.TempDir()
	shipThrough(t, testConfig(t, k, "orders", dir), dir, func() {
		k.Cluster().Fault(
			kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders", Err: kerr.NotLeaderForPartition, Count: 3},
			// Answered with a timeout but written: the retry is a duplicate
			// that Kafka recognizes by its sequence number.
			kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders", Err: kerr.RequestTimedOut, Count: 3},
		)
	})
}

// A partition moving to another broker mid-stream: the batches refused by
// the old leader go to the new one, in order.
func TestLeaderChangeResendsToTheNewLeader(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.SeedTopics(2, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	shipThrough(t, testConfigFor(t, c.ListenAddrs(), "orders", dir), dir, func() {
		for p := range int32(2) {
			to := (c.LeaderFor("orders", p) + 1) % 2
			if err := c.MoveTopicPartition("orders", p, to); err != nil {
				t.Error(err)
			}
		}
	})
}

// The broker going down and coming back: batches are retried in order with
// their sequence numbers, nothing is read again.
func TestBrokerRestartKeepsOrder(t *testing.T) {
	k := startKafka(t, "orders", 2)
	dir := t.TempDir()
	shipThrough(t, testConfig(t, k, "orders", dir), dir, func() {
		k.Stop()
		time.Sleep(time.Second) // the outage itself
		k.Start()
	})
}

// A batch Kafka refuses for good fails its lines to their file, which reads
// them again; the partition goes on under a new producer id.
func TestRefusedBatchIsReadAgain(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	const n = 5000
	var once sync.Once
	written := writeLines(t, filepath.Join(dir, "a.log"), n)
	check.For(t, 20*time.Second, func() error {
		if err := linesFlowing(a, 500)(); err != nil {
			return err
		}
		once.Do(func() {
			k.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders", Err: kerr.InvalidRecord})
		})
		return nil
	})
	<-written
	col := collect(t, k, "orders")
	check.For(t, 40*time.Second, col.distinctAre(n))
	col.check(t, map[string]int{"a": n}, true)
	check.For(t, 10*time.Second, func() error {
		if a.Metrics().ProduceErrors == 0 {
			return errors.New("no produce error counted for the refused batch")
		}
		return nil
	})
}

// Acks and compression settings reach the batches: every combination
// ships every line, and counts it once.
func TestAcksAndCompressionHonoured(t *testing.T) {
	k := startKafka(t, "orders", 2)
	for _, tc := range []struct {
		acks        Acks
		idempotence bool
		codec       sarama.CompressionCodec
	}{
		{AcksAll, true, sarama.CompressionZSTD},
		{AcksLeader, false, sarama.CompressionSnappy},
		{AcksNone, false, sarama.CompressionGZIP},
		{AcksAll, false, sarama.CompressionLZ4},
	} {
		t.Run(fmt.Sprintf("acks=%d,idempotent=%v,%v", tc.acks, tc.idempotence, tc.codec), func(t *testing.T) {
			topic := fmt.Sprintf("acks-%d-%v", tc.acks, tc.codec)
			if err := k.CreateTopic(topic, 2); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			conf := testConfig(t, k, topic, dir)
			conf.Acks, conf.DisableIdempotence, conf.Compression = tc.acks, !tc.idempotence, tc.codec
			a := startAgent(t, context.Background(), conf)
			const n = 3000
			<-writeLines(t, filepath.Join(dir, "a.log"), n)
			col := collect(t, k, topic)
			check.For(t, 20*time.Second, col.atLeast(n))
			col.check(t, map[string]int{"a": n}, true)
			check.For(t, 10*time.Second, linesAcked(a, n))
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Partitions added to a topic while the agent runs are taken up at the next
// metadata refresh: keyed lines then hash over all of them.
func TestAddedPartitionsAreUsed(t *testing.T) {
	k := startKafka(t, "orders", 2)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.Sarama = func(sc *sarama.Config) { sc.Metadata.RefreshFrequency = 50 * time.Millisecond }
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	appendKeyed := func(from, to int) {
		f, err := os.OpenFile(filepath.Join(dir, "keys.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "{\"f\":\"key-%d\"}\n", i)
		}
	}
	appendKeyed(0, 200)
	check.For(t, 20*time.Second, linesAcked(a, 200))

	admin, err := sarama.NewClusterAdmin(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreatePartitions("orders", 4, nil, false); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	filled := func(p int32) bool {
		n, err := client.GetOffset("orders", p, sarama.OffsetNewest)
		return err == nil && n > 0
	}
	for round := 1; !filled(2) || !filled(3); round++ {
		if round > 100 {
			t.Fatal("no line reached the added partitions 2 and 3")
		}
		appendKeyed(200*round, 200*(round+1))
		check.For(t, 20*time.Second, linesAcked(a, int64(200*(round+1))))
		_ = client.RefreshMetadata("orders")
	}
}
