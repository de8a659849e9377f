package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// New validates conf and returns a factory of spout tasks for
// topology.Builder.SetSpout. Each task reads the partitions p with
// p mod N = its index among the spout's N tasks.
func New(conf Config) (func() topology.Spout, error) {
	conf, err := conf.withDefaults()
	if err != nil {
		return nil, err
	}
	return func() topology.Spout { return &Spout{conf: conf} }, nil
}

// Spout is one task of a Kafka spout (made by New).
type Spout struct {
	conf Config
	tc   *topology.TopologyContext
	out  topology.SpoutOutputCollector
	mgr  *manager

	parts   map[partitionKey]*partition
	order   []*partition // round-robin order of reading
	next    int
	retries int // messages waiting in some partition's retries
	events  []event

	lastCommit time.Time
	acks       int
	errLogged  map[partitionKey]time.Time
	// record is what the mapping is handed, set anew for each message, so
	// that mapping one costs no allocation.
	record Record
}

// DeclareOutputFields declares the mapping's fields on the stream.
func (s *Spout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.DeclareStream(s.conf.Stream, topology.NewFields(s.conf.Mapping.Fields...))
}

// Open starts connecting in the background: a spout whose Kafka or offset
// store is unreachable keeps retrying and emits once they answer.
func (s *Spout) Open(tc *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	if s.conf.Offsets == (OffsetStorage{}) {
		zk, ok := zkstore.ClusterOptions.From(tc)
		if !ok {
			return fmt.Errorf("kafka spout %s: Offsets: %w (it is not running on a cluster, whose ZooKeeper is the default)", tc.ComponentID, ErrOffsetStorage)
		}
		s.conf.Offsets.ZooKeeper = &zk
	}
	s.tc, s.out = tc, out
	s.parts = map[partitionKey]*partition{}
	s.errLogged = map[partitionKey]time.Time{}
	s.lastCommit = time.Now()
	s.mgr = newManager(s.conf, tc.TopologyName, tc.ComponentID, tc.TaskID, tc.TaskIndex,
		len(tc.ComponentTasks(tc.ComponentID)), tc.RunID, tc.TaskLogger(s.conf.Logger))
	s.mgr.start()
	return nil
}

// NextTuple emits due retries, then new messages, round-robin over the
// partitions that are not at MaxUncommittedOffsets.
func (s *Spout) NextTuple() {
	now := time.Now()
	s.handleEvents()
	s.maybeCommit(now)
	budget := s.conf.MaxEmitPerCall
	if s.retries > 0 {
		budget -= s.emitRetries(now, budget)
	}
	for n := len(s.order); n > 0 && budget > 0; n-- {
		p := s.order[s.next%len(s.order)]
		s.next++
		budget -= s.read(p, budget)
	}
}

// read emits up to budget messages of p that are already fetched.
func (s *Spout) read(p *partition, budget int) int {
	n := 0
	for n < budget && !p.full(s.conf.MaxUncommittedOffsets) {
		select {
		case rec, ok := <-p.pc.Messages():
			if !ok {
				s.giveUp(p, "its consumer stopped")
				return n
			}
			m := p.add(rec)
			s.emit(p, m)
			n++
		case err := <-p.pc.Errors():
			s.logFetchError(p, err)
			return n
		default:
			return n
		}
	}
	return n
}

// logFetchError logs a partition's fetch errors at most every 10 s: sarama
// retries them itself, and a broker that is down would flood the log.
func (s *Spout) logFetchError(p *partition, err *sarama.ConsumerError) {
	if time.Since(s.errLogged[p.key]) < 10*time.Second {
		return
	}
	s.errLogged[p.key] = time.Now()
	s.mgr.log.Warn("kafka spout: fetch failed; retrying", "topic", p.key.topic, "partition", p.key.partition, "err", err.Err)
}

// emit maps and emits a message; one that does not map fails at once.
func (s *Spout) emit(p *partition, m *message) {
	values, err := s.mapRecord(m.rec)
	if err == nil {
		err = s.out.EmitTo(s.conf.Stream, values, m)
	}
	if err != nil {
		s.failed(p, m, fmt.Errorf("map %s/%d@%d: %w", m.rec.Topic, m.rec.Partition, m.rec.Offset, err).Error())
	}
}

// mapRecord runs the user's mapping; a panic in it is the message's
// failure, like an error, so that one bad message is retried and
// dead-lettered instead of crashing the task over and over.
func (s *Spout) mapRecord(msg *sarama.ConsumerMessage) (values topology.Values, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mapping panicked: %v", r)
		}
	}()
	s.record.set(msg)
	return s.conf.Mapping.Map(&s.record)
}

// emitRetries emits retries whose backoff is over, up to budget. A retry
// that fails to map again is queued anew by emit.
func (s *Spout) emitRetries(now time.Time, budget int) int {
	n := 0
	for _, p := range s.order {
		waiting := p.retries
		p.retries = nil
		for _, m := range waiting {
			if n >= budget || now.Before(m.retryAt) {
				p.retries = append(p.retries, m)
				continue
			}
			n++
			s.retries--
			s.emit(p, m)
		}
	}
	return n
}

// failed schedules a retry of a message, or dead-letters it once it has
// failed more than MaxRetries times.
func (s *Spout) failed(p *partition, m *message, reason string) {
	m.attempts++
	m.lastErr = reason
	if s.conf.MaxRetries > 0 && m.attempts > s.conf.MaxRetries {
		m.deadLettering = true
		s.out.ReportError(fmt.Errorf("%w: %s/%d@%d, %d attempts, last error: %s",
			ErrDeadLettered, m.rec.Topic, m.rec.Partition, m.rec.Offset, m.attempts, reason))
		s.mgr.deadLetter(m)
		return
	}
	m.retryAt = time.Now().Add(s.conf.Retry.after(m.attempts))
	p.retries = append(p.retries, m)
	s.retries++
}

// Ack marks a message done.
func (s *Spout) Ack(id any) {
	if m := id.(*message); !m.p.closed {
		m.p.finish(m)
	}
	if s.acks++; s.acks&255 == 0 {
		s.maybeCommit(time.Now())
	}
}

// Fail retries a message after backoff.
func (s *Spout) Fail(id any) {
	m := id.(*message)
	if !m.p.closed && !m.done && !m.deadLettering {
		s.failed(m.p, m, "tuple tree failed or timed out")
	}
}

// Activate resumes emitting; partitions whose offsets an operator rewrote
// while the topology was inactive resume from the new offsets.
func (s *Spout) Activate() { s.mgr.setActive(true) }

// Deactivate stores the offsets so far; acks that arrive while inactive are
// stored at the next activation or on Close.
func (s *Spout) Deactivate() {
	s.commit()
	s.mgr.setActive(false)
}

// Close stores the offsets of what was acked and disconnects.
func (s *Spout) Close() error {
	var err error
	if !s.conf.abandonOnClose {
		s.handleEvents()
		s.commit()
		if !s.mgr.flush(5 * time.Second) {
			err = errors.New("kafka spout: offsets not stored within 5s of closing; the next run re-reads from the last stored ones")
		}
	}
	pcs := make([]sarama.PartitionConsumer, 0, len(s.order))
	for _, p := range s.order {
		p.closed = true
		pcs = append(pcs, p.pc)
	}
	s.mgr.close(pcs)
	return err
}

// handleEvents takes the manager's news: partitions opened or rewound, and
// messages Kafka took into the dead-letter topic.
func (s *Spout) handleEvents() {
	s.events = s.mgr.takeEvents(s.events)
	for i, e := range s.events {
		switch {
		case e.opened != nil:
			p := newPartition(e.opened.key, e.opened.pc, e.opened.start)
			s.parts[p.key] = p
			s.order = append(s.order, p)
		case e.rewound != nil:
			if p, ok := s.parts[*e.rewound]; ok {
				s.drop(p)
				s.mgr.requestReopen(p.key)
			}
		case e.deadLettered != nil:
			if m := e.deadLettered; !m.p.closed {
				m.p.finish(m)
			}
		}
		s.events[i] = event{}
	}
}

// giveUp drops a partition whose consumer stopped and has it reopened at
// the stored offset: what was in flight is read again (at least once).
func (s *Spout) giveUp(p *partition, why string) {
	s.mgr.log.Warn("kafka spout: reopening partition", "topic", p.key.topic, "partition", p.key.partition, "why", why)
	s.commit()
	s.drop(p)
	s.mgr.requestReopen(p.key)
}

func (s *Spout) drop(p *partition) {
	p.closed = true
	p.pc.AsyncClose()
	s.retries -= len(p.retries)
	delete(s.parts, p.key)
	for i, q := range s.order {
		if q == p {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

func (s *Spout) maybeCommit(now time.Time) {
	if now.Sub(s.lastCommit) >= s.conf.CommitInterval {
		s.commit()
	}
}

// commit hands the offsets that moved to the manager to store.
func (s *Spout) commit() {
	s.lastCommit = time.Now()
	var batch []zkstore.SpoutOffset
	for _, p := range s.order {
		off := p.committable()
		if off == p.saved {
			continue
		}
		p.saved = off
		batch = append(batch, zkstore.SpoutOffset{
			Spout: s.tc.ComponentID, Topic: p.key.topic, Partition: p.key.partition,
			Offset: off, Time: s.lastCommit.UTC(), Task: s.tc.TaskID, Run: s.tc.RunID,
		})
	}
	if len(batch) > 0 {
		s.mgr.requestSave(batch)
	}
}
