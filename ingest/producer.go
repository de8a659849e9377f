package ingest

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// producer ships lines to Kafka in record batches, built on sarama's
// protocol layer (its Client for metadata, ProduceRequest and RecordBatch,
// and Broker.AsyncProduce) rather than its AsyncProducer, which costs a
// message struct, a copy and several goroutine hops per line.
//
// File actors append lines straight into a per-partition open batch under
// their topic's lock (add); a batch is sealed once it holds BatchBytes or
// BatchLines, or is Linger old. One send loop (sender.go) takes sealed
// batches, sends them to the partitions' leaders, retries them in order,
// and hands Kafka's answer for each batch to the trackers of its files.
type producer struct {
	client sarama.Client
	log    *slog.Logger

	limit      int // the largest estimated encoded size of a batch's records
	batchLines int
	linger     time.Duration
	codec      sarama.CompressionCodec
	level      int
	acks       sarama.RequiredAcks
	timeout    time.Duration // how long a broker waits for replicas to acknowledge
	version    int16         // of produce requests
	idempotent bool
	// maxInFlight is the batches of a partition in flight at once: as many
	// as Kafka keeps in order for an idempotent producer, one otherwise (a
	// retry could then overtake a later batch).
	maxInFlight int
	maxRequests int // requests in flight per broker connection
	backoff     time.Duration
	backoffMax  time.Duration
	// settled is told of each batch Kafka answered for, after its trackers.
	settled func(lines int, bytes int64, err error)

	free batchFree

	// mu guards the topics, closing and the maintenance goroutine's work.
	// Lock order (locksordering.txt): a leaf, taken with no other lock
	// held.
	mu      sync.Mutex
	topics  map[string]*topic
	list    []*topic // topics in the order they were first used
	closing bool     // flush everything and close drained once sent
	// The maintenance goroutine's work: topics whose metadata to refresh,
	// partitions that need a new producer id.
	refreshWanted map[string]bool
	pidWanted     []*partition

	wake     chan struct{} // the send loop has something to do
	maintain chan struct{} // the maintenance goroutine has something to do
	stop     chan struct{} // closed by shutdown
	drained  chan struct{} // closed once closing and everything is answered
	firstID  producerID    // the producer id every partition starts with

	// answers from sarama's response goroutines and the maintenance
	// goroutine, for the send loop. Lock order (locksordering.txt): ansMu
	// is a leaf, taken with no other lock held.
	ansMu   sync.Mutex
	answers []answer
	ids     []newID

	// Owned by the send loop.
	brokerLoad map[*sarama.Broker]int // requests in flight
	isDrained  bool
}

// topic is a topic's partitions: those it had when first used, and those
// added since (growPartitions).
type topic struct {
	name string
	// mu guards the partitions' open and sealed batches, parts and sticky.
	// Lock order (locksordering.txt): topic.mu -> tracker.mu and
	// topic.mu -> batchFree.mu; never held with Agent.mu or another
	// topic's.
	mu    sync.Mutex
	parts []*partition
	// sticky is the partition of lines without a key until its batch is
	// sealed, like Kafka's sticky partitioner: few, full batches.
	sticky int
}

// partition is where one partition's batches wait and are sent from.
type partition struct {
	topic *topic
	id    int32

	// Under topic.mu.
	open   *batch
	sealed []*batch

	// Owned by the send loop.
	queue    []*batch // sealed batches not yet answered for, in order
	inFlight int
	// A retriable error makes the partition wait until every batch in
	// flight is answered and the backoff passed, then send its unanswered
	// batches again in order, with their sequence numbers.
	retrying bool
	retryAt  time.Time
	backoff  time.Duration
	troubled bool // an error was logged; recovery is logged too
	// Idempotence: the producer id and the sequence number of the next
	// batch. A refused batch breaks the sequence; the partition then waits
	// for a new producer id and starts again from 0.
	pid     producerID
	seq     int32
	needID  bool
	pending *producerID // a new id, adopted once nothing is in flight
}

type producerID struct {
	id    int64
	epoch int16
}

// newProducer makes the producer of conf and sc, a connected client's
// configuration, and starts its goroutines.
func newProducer(conf Config, client sarama.Client, id producerID, settled func(int, int64, error)) *producer {
	sc := client.Config()
	p := &producer{
		client:        client,
		log:           conf.Logger.With("component", "tail"),
		limit:         min(conf.BatchBytes, sc.Producer.MaxMessageBytes) - recordBatchOverhead,
		batchLines:    conf.BatchLines,
		linger:        conf.Linger,
		codec:         conf.Compression,
		level:         sc.Producer.CompressionLevel,
		acks:          conf.Acks.sarama(),
		timeout:       sc.Producer.Timeout,
		version:       requestVersion(sc.Version, produceVersions),
		idempotent:    !conf.DisableIdempotence,
		maxInFlight:   1,
		maxRequests:   sc.Net.MaxOpenRequests,
		backoff:       conf.RetryBackoff,
		backoffMax:    conf.RetryBackoffMax,
		settled:       settled,
		topics:        make(map[string]*topic),
		refreshWanted: make(map[string]bool),
		wake:          make(chan struct{}, 1),
		maintain:      make(chan struct{}, 1),
		stop:          make(chan struct{}),
		drained:       make(chan struct{}),
		firstID:       id,
		brokerLoad:    make(map[*sarama.Broker]int),
	}
	if p.idempotent {
		p.maxInFlight = maxInFlightIdempotent
	}
	go p.run()
	go p.maintenance()
	return p
}

// maxInFlightIdempotent is how many batches per partition a broker keeps
// in order for an idempotent producer.
const maxInFlightIdempotent = 5

// topic returns the topic called name, looking its partitions up on first
// use.
func (p *producer) topic(name string) (*topic, error) {
	p.mu.Lock()
	t := p.topics[name]
	p.mu.Unlock()
	if t != nil {
		return t, nil
	}
	// As sarama's hash partitioner is used: over every partition, in the
	// client's order, whether its leader is available or not.
	ids, err := p.client.Partitions(name)
	if err == nil && len(ids) == 0 {
		err = sarama.ErrLeaderNotAvailable
	}
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %s: %w", name, err)
	}
	t = &topic{name: name, sticky: rand.IntN(len(ids))}
	for _, id := range ids {
		t.parts = append(t.parts, &partition{topic: t, id: id, pid: p.firstID})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if known := p.topics[name]; known != nil {
		return known, nil
	}
	p.topics[name] = t
	p.list = append(p.list, t)
	return t, nil
}

// add appends a line of fs ending at end to the open batch of its
// partition: the one its key hashes to, or for a line without a key the
// topic's sticky partition. A line of a generation Kafka refused a line of
// is dropped, and add reports false: the file is read again from before
// the refused one. It never waits for Kafka: the agent bounds what
// is buffered before reading.
func (p *producer) add(t *topic, fs *fileState, key, value []byte, end int64, size int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	gen, seq, ok := fs.tracker.sent(end)
	if !ok {
		return false
	}
	part := t.pick(key)
	for part.open != nil && part.open.size+encodedSize(key, value) > p.limit {
		p.seal(part)
		part = t.pick(key)
	}
	b := part.open
	if b == nil {
		b = p.free.get(part, time.Now())
		part.open = b
		p.signal() // for the send loop to seal it after Linger
	}
	b.add(fs, gen, seq, key, value, size)
	if b.lines() >= p.batchLines {
		p.seal(part)
	}
	return true
}

// pick returns the partition of a line with key (nil for none). Under t.mu.
func (t *topic) pick(key []byte) *partition {
	if key == nil {
		return t.parts[t.sticky]
	}
	return t.parts[keyPartition(key, int32(len(t.parts)))]
}

// keyPartition is sarama's default (hash) partitioner, without its
// allocations: the FNV-1a 32-bit hash of the key as an int32, modulo the
// partitions, negated if negative. Records keyed alike land where sarama's
// AsyncProducer put them.
func keyPartition(key []byte, partitions int32) int32 {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	p := int32(h) % partitions
	if p < 0 {
		p = -p
	}
	return p
}

// seal closes the partition's open batch for the send loop; lines without a
// key move on to the next partition. Under part.topic.mu.
func (p *producer) seal(part *partition) {
	b := part.open
	part.open = nil
	b.seal(p.codec, p.level)
	part.sealed = append(part.sealed, b)
	t := part.topic
	if t.parts[t.sticky] == part {
		t.sticky = (t.sticky + 1) % len(t.parts)
	}
	p.signal()
}

// signal wakes the send loop.
func (p *producer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// collect seals the batches older than Linger (all of them when closing)
// and queues the sealed ones for sending. It returns when the next open
// batch is due.
func (p *producer) collect(now time.Time) time.Time {
	p.mu.Lock()
	topics, closing := p.list, p.closing
	p.mu.Unlock()
	next := now.Add(time.Hour)
	for _, t := range topics {
		t.mu.Lock()
		for _, part := range t.parts {
			if b := part.open; b != nil {
				if due := b.created.Add(p.linger); closing || !due.After(now) {
					p.seal(part)
				} else if due.Before(next) {
					next = due
				}
			}
			part.queue = append(part.queue, part.sealed...)
			clear(part.sealed)
			part.sealed = part.sealed[:0]
		}
		t.mu.Unlock()
	}
	return next
}

// close flushes: every open batch is sealed and sent. drained is closed
// once Kafka answered for all of them.
func (p *producer) close() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.signal()
}

// shutdown stops the producer's goroutines and closes the client, whatever
// is still unanswered.
func (p *producer) shutdown() {
	close(p.stop)
	if err := p.client.Close(); err != nil {
		p.log.Warn("closing the Kafka client failed", "err", err)
	}
}

// versionStep says that from Kafka version kafka on, a request is sent at
// version request.
type versionStep struct {
	kafka   sarama.KafkaVersion
	request int16
}

// Request versions by Kafka version, newest first, as sarama picks them.
// Record batches need produce version 3 (Kafka 0.11) at least.
var (
	produceVersions = []versionStep{
		{sarama.V3_7_0_0, 10}, {sarama.V2_8_0_0, 9}, {sarama.V2_4_0_0, 8}, {sarama.V2_1_0_0, 7},
		{sarama.V2_0_0_0, 6}, {sarama.V1_0_0_0, 5}, {sarama.MinVersion, 3},
	}
	initProducerIDVersions = []versionStep{
		{sarama.V2_7_0_0, 4}, {sarama.V2_5_0_0, 3}, {sarama.V2_4_0_0, 2}, {sarama.V2_0_0_0, 1}, {sarama.MinVersion, 0},
	}
)

// requestVersion is the version of the first step Kafka version v reaches.
func requestVersion(v sarama.KafkaVersion, steps []versionStep) int16 {
	for _, s := range steps {
		if v.IsAtLeast(s.kafka) {
			return s.request
		}
	}
	return steps[len(steps)-1].request
}
