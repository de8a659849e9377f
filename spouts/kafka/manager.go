package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/zkstore"
)

// manager does a spout task's blocking work on a goroutine of its own, so
// that the task keeps handling acks while Kafka or the offset store is slow
// or gone: connecting, finding the task's partitions, opening them at their
// stored offsets, storing offsets, and dead-lettering.
//
// Lock order: manager.mu is taken alone; no call that blocks on the network
// is made while holding it.
type manager struct {
	conf        Config
	topo, spout string
	task        int
	index       int // the task's position among the spout's tasks
	tasks       int
	run         string
	log         *slog.Logger

	poke chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup

	mu sync.Mutex
	// Set by the manager goroutine once connected; read by close.
	client   sarama.Client
	consumer sarama.Consumer
	store    offsetStore
	producer sarama.SyncProducer
	// From the task: offsets to store, reopen requests, a rewind check.
	toSave   map[partitionKey]zkstore.SpoutOffset
	reopen   []partitionKey
	inactive bool
	check    bool
	// To the task.
	events []event
	// saving is set while offsets taken from toSave are being stored;
	// saveDone is closed once they are and toSave is empty, for the final
	// commit.
	saving   bool
	saveDone chan struct{}

	// Owned by the manager goroutine.
	opened map[partitionKey]bool
	saved  map[partitionKey]int64 // what this task last stored
	first  bool                   // the first discovery is not done yet
}

// event is news for the task from the manager.
type event struct {
	opened       *opened
	rewound      *partitionKey
	deadLettered *message
}

type opened struct {
	key   partitionKey
	pc    sarama.PartitionConsumer
	start int64
}

func newManager(conf Config, topo, spout string, task, index, tasks int, run string, log *slog.Logger) *manager {
	return &manager{
		conf: conf, topo: topo, spout: spout, task: task, index: index, tasks: tasks, run: run, log: log,
		poke: make(chan struct{}, 1), quit: make(chan struct{}),
		toSave: map[partitionKey]zkstore.SpoutOffset{},
		opened: map[partitionKey]bool{}, saved: map[partitionKey]int64{}, first: true,
	}
}

func (m *manager) start() {
	m.wg.Add(1)
	go m.loop()
}

func (m *manager) wake() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// sleep waits d or until quit; false means quit.
func (m *manager) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.quit:
		return false
	case <-t.C:
		return true
	}
}

func (m *manager) loop() {
	defer m.wg.Done()
	backoff := m.conf.ReconnectBackoff
	for attempt := 1; ; attempt++ {
		err := m.connect()
		if err == nil {
			if attempt > 1 {
				m.log.Info("kafka spout connected", "brokers", m.conf.Brokers, "attempts", attempt)
			}
			break
		}
		m.log.Warn("kafka spout cannot connect; retrying", "err", err, "attempt", attempt, "retry_in", backoff)
		if !m.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, m.conf.ReconnectBackoffMax)
	}
	refresh := time.NewTicker(m.conf.PartitionRefresh)
	defer refresh.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	backoff = m.conf.ReconnectBackoff
	wanted := map[partitionKey]bool{}
	discovered := false
	for {
		select {
		case <-m.quit:
			return
		case <-m.poke:
		case <-refresh.C:
			discovered = false
		case <-retry.C:
		}
		ok := true
		if !discovered {
			if w, err := m.discover(); err != nil {
				m.log.Warn("kafka spout cannot list partitions; retrying", "topics", m.conf.Topics, "err", err)
				ok = false
			} else {
				wanted, discovered = w, true
			}
		}
		if !m.work(wanted) {
			ok = false
		}
		if ok {
			backoff = m.conf.ReconnectBackoff
			continue
		}
		retry.Reset(backoff)
		backoff = min(2*backoff, m.conf.ReconnectBackoffMax)
	}
}

// connect makes the Kafka client, consumer and offset store.
func (m *manager) connect() error {
	client, err := sarama.NewClient(m.conf.Brokers, m.conf.saramaConfig())
	if err != nil {
		return fmt.Errorf("kafka at %v: %w", m.conf.Brokers, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("kafka consumer: %w", err)
	}
	store, err := openStore(m.conf.Offsets, m.topo, m.spout, client, m.log)
	if err != nil {
		consumer.Close()
		client.Close()
		return fmt.Errorf("offset store: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.quit:
		store.close()
		consumer.Close()
		client.Close()
		return errors.New("spout closed")
	default:
	}
	m.client, m.consumer, m.store = client, consumer, store
	return nil
}

// discover lists the topics' partitions and returns those this task owns:
// partition p of each topic goes to task p mod N.
func (m *manager) discover() (map[partitionKey]bool, error) {
	if err := m.client.RefreshMetadata(m.conf.Topics...); err != nil {
		return nil, err
	}
	owned := map[partitionKey]bool{}
	for _, topic := range m.conf.Topics {
		ps, err := m.client.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("partitions of %q: %w", topic, err)
		}
		for _, p := range ps {
			if int(p)%m.tasks == m.index {
				owned[partitionKey{topic, p}] = true
			}
		}
	}
	return owned, nil
}

// work does what the task asked for and opens the owned partitions not
// open yet. false means something failed and should be tried again later.
func (m *manager) work(wanted map[partitionKey]bool) bool {
	m.mu.Lock()
	reopen, check, inactive := m.reopen, m.check, m.inactive
	m.reopen, m.check = nil, false
	toSave := m.toSave
	m.toSave = map[partitionKey]zkstore.SpoutOffset{}
	m.saving = len(toSave) > 0
	m.mu.Unlock()

	ok := true
	for _, k := range reopen {
		delete(m.opened, k)
	}
	if check {
		for k := range m.opened {
			m.checkRewound(k)
		}
	}
	keys := make([]partitionKey, 0, len(wanted))
	for k := range wanted {
		if !m.opened[k] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b partitionKey) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.partition - b.partition)
	})
	for _, k := range keys {
		if err := m.open(k); err != nil {
			m.log.Warn("kafka spout cannot open partition; retrying", "topic", k.topic, "partition", k.partition, "err", err)
			ok = false
			continue
		}
		m.opened[k] = true
	}
	m.first = m.first && !ok
	if len(toSave) > 0 && !m.save(toSave, inactive) {
		ok = false
	}
	m.mu.Lock()
	m.saving = false
	if len(m.toSave) == 0 && m.saveDone != nil {
		close(m.saveDone)
		m.saveDone = nil
	}
	m.mu.Unlock()
	return ok
}

// checkRewound reports a partition whose stored offset an operator changed
// (`squall offsets set`) since this task stored it: the task gives it up and
// it is opened again at the new offset.
func (m *manager) checkRewound(k partitionKey) bool {
	so, found, err := m.store.load(k.topic, k.partition)
	if err != nil || !found || so.Task != zkstore.OperatorTask {
		return false
	}
	if last, ok := m.saved[k]; ok && last == so.Offset {
		return false
	}
	m.log.Info("kafka spout: stored offset was set by an operator; resuming there", "topic", k.topic, "partition", k.partition, "offset", so.Offset)
	m.saved[k] = so.Offset
	m.push(event{rewound: &k})
	return true
}

// save stores offsets. While the topology is inactive an operator may have
// rewritten them; those partitions are rewound instead of overwritten.
func (m *manager) save(toSave map[partitionKey]zkstore.SpoutOffset, inactive bool) bool {
	batch := make([]zkstore.SpoutOffset, 0, len(toSave))
	for k, so := range toSave {
		if inactive && m.checkRewound(k) {
			continue
		}
		batch = append(batch, so)
	}
	if err := m.store.save(batch); err != nil {
		m.log.Warn("kafka spout cannot store offsets; retrying", "err", err)
		m.mu.Lock()
		for k, so := range toSave {
			if _, newer := m.toSave[k]; !newer {
				m.toSave[k] = so
			}
		}
		m.mu.Unlock()
		return false
	}
	for _, so := range batch {
		m.saved[partitionKey{so.Topic, so.Partition}] = so.Offset
	}
	return true
}

// open starts reading a partition at its stored offset, or where the first
// poll strategy says.
func (m *manager) open(k partitionKey) error {
	so, found, err := m.store.load(k.topic, k.partition)
	if err != nil {
		return err
	}
	if found {
		m.saved[k] = so.Offset
	}
	var start int64
	strategy := m.conf.FirstPoll.kind
	if !m.first {
		// A partition added while running is read whole: its first
		// messages were produced after the spout started.
		strategy = pollEarliest
	}
	switch {
	case found && (strategy == pollCommitted || so.Task == zkstore.OperatorTask || so.Run == m.run):
		start = so.Offset
	case strategy == pollLatest:
		start, err = m.client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
	case strategy == pollTimestamp:
		start, err = m.client.GetOffset(k.topic, k.partition, m.conf.FirstPoll.at.UnixMilli())
		if err == nil && start < 0 { // no message that late yet
			start, err = m.client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
		}
	default:
		start, err = m.client.GetOffset(k.topic, k.partition, sarama.OffsetOldest)
	}
	if err != nil {
		return fmt.Errorf("find start offset: %w", err)
	}
	pc, err := m.consumer.ConsumePartition(k.topic, k.partition, start)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) {
		oldest, oerr := m.client.GetOffset(k.topic, k.partition, sarama.OffsetOldest)
		if oerr != nil {
			return fmt.Errorf("find earliest offset: %w", oerr)
		}
		if oldest < start {
			// Past the log's end: nothing there was ever read, so start
			// at the end rather than re-read what was processed.
			oldest, oerr = m.client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
			if oerr != nil {
				return fmt.Errorf("find latest offset: %w", oerr)
			}
		}
		m.log.Warn("kafka spout: stored offset is out of range (retention removed it?); moving on",
			"topic", k.topic, "partition", k.partition, "stored", start, "now", oldest)
		start = oldest
		pc, err = m.consumer.ConsumePartition(k.topic, k.partition, start)
	}
	if err != nil {
		return fmt.Errorf("consume from offset %d: %w", start, err)
	}
	m.push(event{opened: &opened{key: k, pc: pc, start: start}})
	return nil
}

func (m *manager) push(e event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
}

// takeEvents hands the task what happened since it last asked.
func (m *manager) takeEvents(into []event) []event {
	m.mu.Lock()
	into = append(into[:0], m.events...)
	clear(m.events)
	m.events = m.events[:0]
	m.mu.Unlock()
	return into
}

// requestSave queues offsets to store; newer offsets replace older.
func (m *manager) requestSave(offsets []zkstore.SpoutOffset) {
	m.mu.Lock()
	for _, so := range offsets {
		m.toSave[partitionKey{so.Topic, so.Partition}] = so
	}
	m.mu.Unlock()
	m.wake()
}

// requestReopen asks for a partition the task gave up to be opened again.
func (m *manager) requestReopen(k partitionKey) {
	m.mu.Lock()
	m.reopen = append(m.reopen, k)
	m.mu.Unlock()
	m.wake()
}

// setActive records the topology's state; on activation, partitions whose
// offsets an operator rewrote are rewound.
func (m *manager) setActive(active bool) {
	m.mu.Lock()
	m.inactive = !active
	if active {
		m.check = true
	}
	m.mu.Unlock()
	m.wake()
}

// flush waits until the queued offsets are stored, or timeout.
func (m *manager) flush(timeout time.Duration) bool {
	m.mu.Lock()
	if (len(m.toSave) == 0 && !m.saving) || m.store == nil {
		stored := len(m.toSave) == 0
		m.mu.Unlock()
		return stored
	}
	if m.saveDone == nil {
		m.saveDone = make(chan struct{})
	}
	done := m.saveDone
	m.mu.Unlock()
	m.wake()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// close stops the manager and what it connected. It gives the goroutine a
// moment to finish what it is doing, then closes the connections under it,
// which unblocks it.
func (m *manager) close(partitions []sarama.PartitionConsumer) {
	close(m.quit)
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	for _, pc := range partitions {
		pc.AsyncClose()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.producer != nil {
		m.producer.Close()
	}
	if m.store != nil {
		m.store.close()
	}
	if m.consumer != nil {
		m.consumer.Close()
	}
	if m.client != nil {
		m.client.Close()
	}
	// Partition consumers opened after the task stopped taking events.
	for _, e := range m.events {
		if e.opened != nil {
			e.opened.pc.AsyncClose()
		}
	}
	m.events = nil
}
