package ingest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// answer is a broker's answer to one produce request, or the error that
// kept the request from being sent or answered.
type answer struct {
	broker  *sarama.Broker
	batches []*batch
	res     *sarama.ProduceResponse // nil with acks=none
	err     error
	counted bool // the request counts in brokerLoad
}

// newID is a producer id obtained for a partition whose sequence broke.
type newID struct {
	part *partition
	id   producerID
}

// run is the send loop: it takes answers, seals lingering batches and sends
// what can be sent, until shutdown. It alone touches the partitions' send
// state, so that state needs no lock.
func (p *producer) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-p.wake:
		case <-timer.C:
		case <-p.stop:
			return
		}
		now := time.Now()
		p.takeAnswers(now)
		next := p.collect(now)
		if retry := p.send(now); retry.Before(next) {
			next = retry
		}
		p.checkDrained()
		timer.Reset(time.Until(next))
	}
}

// deliver hands an answer to the send loop. It runs on the goroutine that
// reads the broker's responses, which must not wait on the loop.
func (p *producer) deliver(a answer) {
	p.ansMu.Lock()
	p.answers = append(p.answers, a)
	p.ansMu.Unlock()
	p.signal()
}

func (p *producer) takeAnswers(now time.Time) {
	p.ansMu.Lock()
	answers, ids := p.answers, p.ids
	p.answers, p.ids = nil, nil
	p.ansMu.Unlock()
	for _, n := range ids {
		n.part.pending = &n.id
	}
	for _, a := range answers {
		p.handle(a, now)
	}
}

// send sends every batch that may go now: per broker one request holding
// the next batch of each partition it leads, while the broker has room for
// requests and the partitions for batches in flight. It returns when a
// partition waiting out a backoff may send again.
func (p *producer) send(now time.Time) time.Time {
	p.mu.Lock()
	topics := p.list
	p.mu.Unlock()
	next := now.Add(time.Hour)
	for {
		requests := make(map[*sarama.Broker][]*batch)
		for _, t := range topics {
			t.mu.Lock()
			parts := t.parts // grown by the maintenance goroutine
			t.mu.Unlock()
			for _, part := range parts {
				if !p.ready(part, now) {
					if part.retrying && part.inFlight == 0 && part.retryAt.Before(next) {
						next = part.retryAt
					}
					continue
				}
				b := p.nextBatch(part)
				if b == nil {
					continue
				}
				broker, err := p.client.Leader(t.name, part.id)
				if err != nil {
					p.retry(part, now, fmt.Errorf("leader of topic %s partition %d: %w", t.name, part.id, err))
					if part.retryAt.Before(next) {
						next = part.retryAt
					}
					continue
				}
				// A full broker is woken up by its next answer.
				if requests[broker] != nil || p.brokerLoad[broker] < p.maxRequests {
					requests[broker] = append(requests[broker], b)
				}
			}
		}
		if len(requests) == 0 {
			return next
		}
		for broker, batches := range requests {
			p.dispatch(broker, batches, now)
		}
	}
}

// ready tells whether a partition may send: not while it waits for a new
// producer id, nor while it waits out a retry.
func (p *producer) ready(part *partition, now time.Time) bool {
	if part.needID {
		if part.pending == nil || part.inFlight > 0 {
			return false
		}
		part.pid, part.seq = *part.pending, 0
		part.needID, part.pending = false, nil
	}
	if part.retrying {
		if part.inFlight > 0 || now.Before(part.retryAt) {
			return false
		}
		part.retrying = false
	}
	return true
}

// nextBatch returns the partition's first batch not in flight, if it may
// go, giving it its sequence number when it is first sent. Batches go in
// order and a retry waits until none is in flight, so the batches in
// flight are the first of the queue.
func (p *producer) nextBatch(part *partition) *batch {
	if part.inFlight >= p.maxInFlight || part.inFlight >= len(part.queue) {
		return nil
	}
	b := part.queue[part.inFlight]
	if p.idempotent && !b.seqSet {
		b.rb.ProducerID, b.rb.ProducerEpoch, b.rb.FirstSequence = part.pid.id, part.pid.epoch, part.seq
		part.seq = nextSequence(part.seq, b.lines())
		b.seqSet = true
	}
	return b
}

// dispatch sends one produce request to broker. sarama encodes it here, on
// the send loop, and the answer comes back through deliver.
func (p *producer) dispatch(broker *sarama.Broker, batches []*batch, now time.Time) {
	req := &sarama.ProduceRequest{RequiredAcks: p.acks, Timeout: int32(p.timeout / time.Millisecond), Version: p.version}
	for _, b := range batches {
		req.AddBatch(b.part.topic.name, b.part.id, b.rb)
		b.sent = true
		b.part.inFlight++
	}
	if p.acks == sarama.NoResponse {
		// No answer comes: a batch written to the connection is shipped.
		p.handle(answer{broker: broker, batches: batches, err: broker.AsyncProduce(req, nil)}, now)
		return
	}
	p.brokerLoad[broker]++
	err := broker.AsyncProduce(req, func(res *sarama.ProduceResponse, err error) {
		p.deliver(answer{broker: broker, batches: batches, res: res, err: err, counted: true})
	})
	if err != nil {
		p.handle(answer{broker: broker, batches: batches, err: err, counted: true}, now)
	}
}

// handle takes a request's answer to each of its batches.
func (p *producer) handle(a answer, now time.Time) {
	if a.counted {
		if p.brokerLoad[a.broker]--; p.brokerLoad[a.broker] <= 0 {
			delete(p.brokerLoad, a.broker)
		}
	}
	if a.err != nil {
		// The connection broke or was never made: close it, so that the
		// next send opens it again. Outside the response goroutine, on
		// which closing would deadlock.
		_ = a.broker.Close()
	}
	for _, b := range a.batches {
		err := a.err
		if err == nil && a.res != nil {
			switch block := a.res.GetBlock(b.part.topic.name, b.part.id); {
			case block == nil:
				err = sarama.ErrIncompleteResponse
			case block.Err != sarama.ErrNoError && block.Err != sarama.ErrDuplicateSequenceNumber:
				// A duplicate is a batch Kafka has already: a retry of one
				// whose answer was lost.
				err = block.Err
			}
		}
		if err != nil {
			err = fmt.Errorf("produce to topic %s partition %d on broker %s: %w", b.part.topic.name, b.part.id, a.broker.Addr(), err)
		}
		p.answered(b, err, now)
	}
}

// answered settles a batch, sends it again later, or refuses it.
func (p *producer) answered(b *batch, err error, now time.Time) {
	part := b.part
	part.inFlight--
	b.sent = false
	switch {
	case err == nil:
		part.queue = slices.DeleteFunc(part.queue, func(q *batch) bool { return q == b })
		p.finish(b, nil)
		if !part.retrying {
			part.backoff = 0
			if part.troubled {
				part.troubled = false
				p.log.Info("Kafka takes lines again", "topic", part.topic.name, "partition", part.id)
			}
		}
	case p.retriable(part, err):
		p.retry(part, now, err)
	default:
		p.refuse(part, b, err)
	}
}

// retry makes the partition send its unanswered batches again, in order,
// after a backoff that grows while the trouble lasts; it is logged once per
// spell of trouble, not per batch or line.
func (p *producer) retry(part *partition, now time.Time, err error) {
	p.requestRefresh(part.topic.name)
	if part.retrying {
		return
	}
	part.retrying = true
	part.backoff = min(max(2*part.backoff, p.backoff), p.backoffMax)
	part.retryAt = now.Add(part.backoff)
	if !part.troubled {
		part.troubled = true
		p.log.Warn("Kafka cannot take lines now; retrying", "topic", part.topic.name, "partition", part.id,
			"after", part.backoff, "err", err)
	}
}

// refuse fails a batch Kafka refused for good, and with it the partition's
// batches not in flight, which can no longer follow it in sequence: their
// files read those lines again (see tracker). An idempotent partition then
// starts a new sequence under a new producer id.
func (p *producer) refuse(part *partition, b *batch, err error) {
	kept := part.queue[:0]
	for _, q := range part.queue {
		switch {
		case q == b:
		case q.sent:
			kept = append(kept, q)
		default:
			p.finish(q, err)
		}
	}
	clear(part.queue[len(kept):])
	part.queue = kept
	// Batches still filling or waiting to be queued hold lines read after
	// the refused ones: sent now, they would overtake them.
	t := part.topic
	t.mu.Lock()
	if part.open != nil {
		p.finish(part.open, err)
		part.open = nil
	}
	for _, q := range part.sealed {
		p.finish(q, err)
	}
	clear(part.sealed)
	part.sealed = part.sealed[:0]
	// The refused batch too, before the lock goes: a file whose only lines
	// in flight were in it would otherwise have a line taken into a new
	// batch before its refusal is recorded, and that line would overtake
	// the refused ones.
	p.finish(b, err)
	t.mu.Unlock()
	if p.idempotent && !part.needID {
		part.needID, part.pending = true, nil
		p.mu.Lock()
		p.pidWanted = append(p.pidWanted, part)
		p.mu.Unlock()
		p.kickMaintenance()
	}
}

// retriable tells whether a batch that failed with err may succeed when
// sent again as it is.
func (p *producer) retriable(part *partition, err error) bool {
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		var encoding sarama.PacketEncodingError
		return !errors.As(err, &encoding) // the connection, not the batch
	}
	switch kerr {
	case sarama.ErrInvalidMessage, sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
		sarama.ErrNotLeaderForPartition, sarama.ErrRequestTimedOut, sarama.ErrNotEnoughReplicas,
		sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrKafkaStorageError, sarama.ErrNetworkException:
		return true
	case sarama.ErrOutOfOrderSequenceNumber:
		// A batch in flight behind one that failed is out of sequence: it
		// goes again after that one.
		return part.retrying
	}
	return false
}

// finish hands Kafka's answer for a batch to its files and the agent.
func (p *producer) finish(b *batch, err error) {
	b.settle(err)
	p.settled(b.lines(), b.bytes, err)
	p.free.put(b)
}

// checkDrained closes drained once closing and every batch is answered.
func (p *producer) checkDrained() {
	p.mu.Lock()
	topics, closing := p.list, p.closing
	p.mu.Unlock()
	if !closing || p.isDrained {
		return
	}
	for _, t := range topics {
		t.mu.Lock()
		for _, part := range t.parts {
			if part.open != nil || len(part.sealed) > 0 || len(part.queue) > 0 {
				t.mu.Unlock()
				return
			}
		}
		t.mu.Unlock()
	}
	p.isDrained = true
	close(p.drained)
}

func (p *producer) requestRefresh(topic string) {
	p.mu.Lock()
	p.refreshWanted[topic] = true
	p.mu.Unlock()
	p.kickMaintenance()
}

func (p *producer) kickMaintenance() {
	select {
	case p.maintain <- struct{}{}:
	default:
	}
}

// maintenance refreshes metadata, obtains producer ids for the send loop
// (whose sending must not wait on those round trips), and takes up
// partitions added to a topic, as often as the client refreshes its
// metadata (Metadata.RefreshFrequency, see Config.Sarama).
func (p *producer) maintenance() {
	var grow <-chan time.Time
	if every := p.client.Config().Metadata.RefreshFrequency; every > 0 {
		tick := time.NewTicker(every)
		defer tick.Stop()
		grow = tick.C
	}
	for {
		select {
		case <-p.stop:
			return
		case <-grow:
			p.growPartitions()
			continue
		case <-p.maintain:
		}
		p.mu.Lock()
		topics := slices.Collect(maps.Keys(p.refreshWanted))
		clear(p.refreshWanted)
		parts := p.pidWanted
		p.pidWanted = nil
		p.mu.Unlock()
		if len(topics) > 0 {
			if err := p.client.RefreshMetadata(topics...); err != nil {
				p.log.Debug("metadata refresh failed", "topics", topics, "err", err)
			}
		}
		for i, part := range parts {
			id, err := initProducerID(p.client)
			if err != nil {
				p.log.Warn("cannot get a producer id from Kafka; retrying", "after", p.backoffMax, "err", err)
				p.mu.Lock()
				p.pidWanted = append(p.pidWanted, parts[i:]...)
				p.mu.Unlock()
				select {
				case <-p.stop:
					return
				case <-time.After(p.backoffMax):
				}
				p.kickMaintenance()
				break
			}
			p.ansMu.Lock()
			p.ids = append(p.ids, newID{part: part, id: id})
			p.ansMu.Unlock()
		}
		p.signal()
	}
}

// growPartitions adds the partitions Kafka now has beyond those a topic
// was first used with. Keyed lines then hash over all of them, as Kafka's
// own producers do after a metadata refresh.
func (p *producer) growPartitions() {
	p.mu.Lock()
	topics := p.list
	p.mu.Unlock()
	for _, t := range topics {
		ids, err := p.client.Partitions(t.name)
		if err != nil {
			continue
		}
		t.mu.Lock()
		if len(ids) > len(t.parts) {
			known := make(map[int32]bool, len(t.parts))
			for _, part := range t.parts {
				known[part.id] = true
			}
			parts := slices.Clone(t.parts)
			for _, id := range ids {
				if !known[id] {
					parts = append(parts, &partition{topic: t, id: id, pid: p.firstID})
				}
			}
			p.log.Info("topic has more partitions: lines now go to all of them", "topic", t.name, "was", len(t.parts), "now", len(parts))
			t.parts = parts
		}
		t.mu.Unlock()
	}
	p.signal()
}

// initProducerID asks Kafka for a new idempotent producer id.
func initProducerID(client sarama.Client) (producerID, error) {
	broker := client.LeastLoadedBroker()
	if broker == nil {
		return producerID{}, fmt.Errorf("producer id: %w", sarama.ErrOutOfBrokers)
	}
	conf := client.Config()
	req := &sarama.InitProducerIDRequest{
		Version:            requestVersion(conf.Version, initProducerIDVersions),
		TransactionTimeout: conf.Producer.Transaction.Timeout,
		ProducerID:         -1,
		ProducerEpoch:      -1,
	}
	res, err := broker.InitProducerID(req)
	if err == nil && res.Err != sarama.ErrNoError {
		err = res.Err
	} else if err != nil {
		_ = broker.Close()
	}
	if err != nil {
		return producerID{}, fmt.Errorf("producer id from broker %s: %w", broker.Addr(), err)
	}
	return producerID{id: res.ProducerID, epoch: res.ProducerEpoch}, nil
}
