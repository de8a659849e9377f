package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/fsnotify/fsnotify"
)

// Agent follows the files of its Config and produces their lines to Kafka.
// Start one with Start; it runs until Stop, or until its context ends.
type Agent struct {
	conf     Config
	log      *slog.Logger
	producer *producer
	system   *actor.ActorSystem
	super    *actor.PID
	lock     *os.File

	// buffered is the bytes of lines handed to the producer and not yet
	// answered; reading waits while it is at MaxBufferedBytes.
	buffered   atomic.Int64
	bufferFull atomic.Bool // reported when it became full, and when not any more
	// watch tells of changes in the globs' directories; nil without.
	watch      *fsnotify.Watcher
	tickQueued atomic.Bool // a tick sent on a notification awaits the supervisor
	// readBuffers are shared by the file actors, which copy the lines out,
	// so that memory follows the reads in progress, not the files followed.
	readBuffers sync.Pool
	stopReq     chan struct{}
	stopOnce    sync.Once
	done        chan struct{}
	err         error // set before done is closed

	linesRead, bytesRead, linesAcked, bytesAcked atomic.Int64
	linesTooLong, produceErrors, fileErrors      atomic.Int64
	positionErrors                               atomic.Int64

	// mu guards files, loaded and each file's pid. Lock order
	// (locksordering.txt): Agent.mu -> tracker.mu; never held with a
	// topic's.
	mu    sync.Mutex
	files map[uint64]*fileState // by inode
	// loaded holds the position file's entries not yet matched to a file;
	// only the first discovery uses them.
	loaded map[uint64]position
	saved  []position // what the position file holds now
}

// Metrics are an Agent's counters since Start, and the state of each file
// it follows.
type Metrics struct {
	// LinesRead and BytesRead count lines handed to the producer (again,
	// when lines are sent again after a refusal or a restart).
	LinesRead, BytesRead int64
	// LinesAcked and BytesAcked count lines Kafka acknowledged.
	LinesAcked, BytesAcked int64
	// LinesTooLong counts lines skipped for exceeding MaxLineLength.
	LinesTooLong int64
	// ProduceErrors counts lines Kafka refused (they are sent again).
	ProduceErrors int64
	// FileErrors counts failed opens, stats and reads of files.
	FileErrors int64
	// PositionErrors counts corrupt position files and failed saves.
	PositionErrors int64
	// Files are the followed files, by path.
	Files []FileMetrics
}

// FileMetrics is the state of one followed file.
type FileMetrics struct {
	Path  string // where it was last seen among the globs
	Inode uint64
	Topic string
	// Size is the file's size when last looked at.
	Size int64
	// ReadOffset is how far lines were handed to the producer.
	ReadOffset int64
	// AckedOffset is how far Kafka acknowledged every line: what the
	// position file records.
	AckedOffset int64
	// Lag is the bytes not yet acknowledged: Size - AckedOffset.
	Lag int64
}

// Start validates conf, takes the position file's lock (waiting a few
// seconds for an agent killed a moment ago to let go of it), loads it,
// connects to Kafka (waiting, until ctx ends, while no broker is
// reachable) and starts following files; it returns once the files present
// are found. A corrupt position file is reported and moved aside, and every
// file is then read from its start.
//
// Ending ctx abandons the agent as a crash would: nothing is flushed and
// the position file is left as last saved, so the next run sends again
// what was not saved. Stop shuts down cleanly.
func Start(ctx context.Context, conf Config) (*Agent, error) {
	conf, err := conf.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := lockPositions(ctx, conf.Positions)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	a := &Agent{
		conf:    conf,
		log:     conf.Logger.With("component", "tail"),
		lock:    lock,
		stopReq: make(chan struct{}),
		done:    make(chan struct{}),
		files:   make(map[uint64]*fileState),
		loaded:  make(map[uint64]position),
	}
	// A buffer must hold a longest line with its "\r\n", and the newline
	// before it, or the line would never be seen whole.
	bufSize := max(256<<10, conf.MaxLineLength+3)
	a.readBuffers.New = func() any { b := make([]byte, bufSize); return &b }
	ps, err := loadPositions(conf.Positions)
	if errors.Is(err, ErrCorruptPositions) {
		aside, qerr := quarantinePositions(conf.Positions)
		if qerr != nil {
			lock.Close()
			return nil, fmt.Errorf("ingest: %w (%w)", qerr, err)
		}
		a.positionErrors.Add(1)
		a.log.Error("corrupt position file moved aside; reading every file from its start", "err", err, "moved_to", aside)
		ps = nil
	} else if err != nil {
		lock.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	for _, p := range ps {
		a.loaded[p.Inode] = p
	}
	a.saved = ps
	if a.producer, err = a.connect(ctx); err != nil {
		lock.Close()
		return nil, err
	}

	a.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler) // crashes are logged here, with the file
	}))
	// The backoff grows with each crash of a file's actor within the window
	// and starts over after a quiet one.
	strategy := actor.NewExponentialBackoffStrategy(10*conf.RestartBackoff, conf.RestartBackoff)
	a.super, err = a.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &supervisor{a: a} }, actor.WithSupervisor(strategy)), "tail")
	if err != nil {
		a.producer.shutdown()
		lock.Close()
		return nil, fmt.Errorf("ingest: start supervisor: %w", err)
	}
	found := make(chan struct{})
	a.system.Root.Send(a.super, &tick{found: found})
	<-found
	a.watch = a.watchFiles()
	go a.run(ctx)
	return a, nil
}

// connect connects to Kafka and makes the producer, waiting with a backoff
// while no broker is reachable: an agent started before Kafka (or during
// its outage) waits for it rather than failing.
func (a *Agent) connect(ctx context.Context) (*producer, error) {
	sc := saramaConfig(a.conf)
	backoff := a.conf.RetryBackoff
	for {
		client, id, err := dial(a.conf.Brokers, sc, !a.conf.DisableIdempotence)
		if err == nil {
			return newProducer(a.conf, client, id, a.settled), nil
		}
		if errors.As(err, new(sarama.ConfigurationError)) {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		a.log.Warn("Kafka unreachable; retrying", "brokers", a.conf.Brokers, "after", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ingest: waiting for Kafka: %w (%w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, a.conf.RetryBackoffMax)
	}
}

// saramaConfig is the configuration of the Kafka client: conf's settings,
// then its Sarama hook.
func saramaConfig(conf Config) *sarama.Config {
	sc := sarama.NewConfig()
	sc.ClientID = conf.ClientID
	if conf.KafkaVersion != "" {
		// withDefaults checked that it parses.
		sc.Version, _ = sarama.ParseKafkaVersion(conf.KafkaVersion)
	}
	sc.Producer.RequiredAcks = conf.Acks.sarama()
	sc.Producer.Compression = conf.Compression
	if need := conf.MaxLineLength + maxKeyLength + 512; need > sc.Producer.MaxMessageBytes {
		sc.Producer.MaxMessageBytes = need
	}
	if conf.Sarama != nil {
		conf.Sarama(sc)
	}
	return sc
}

// dial connects a client to brokers and, for an idempotent producer, gets
// its producer id.
func dial(brokers []string, sc *sarama.Config, idempotent bool) (sarama.Client, producerID, error) {
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, producerID{}, fmt.Errorf("client for Kafka brokers %v: %w", brokers, err)
	}
	id := producerID{id: -1, epoch: -1}
	if idempotent {
		if id, err = initProducerID(client); err != nil {
			client.Close()
			return nil, producerID{}, err
		}
	}
	return client, id, nil
}

// settled counts the lines of a batch Kafka answered for, and frees their
// room in the buffer.
func (a *Agent) settled(lines int, bytes int64, err error) {
	a.buffered.Add(-bytes)
	if err != nil {
		a.produceErrors.Add(int64(lines))
		return
	}
	a.linesAcked.Add(int64(lines))
	a.bytesAcked.Add(bytes)
}

// bufferRoom tells whether lines may be read, reporting when the buffer of
// lines awaiting Kafka fills up and when it has room again.
func (a *Agent) bufferRoom() bool {
	n := a.buffered.Load()
	if n >= int64(a.conf.MaxBufferedBytes) {
		if a.bufferFull.CompareAndSwap(false, true) {
			a.log.Warn("Kafka is slow or unreachable: reading waits until it acknowledges lines",
				"buffered_bytes", n, "max_buffered_bytes", a.conf.MaxBufferedBytes)
		}
		return false
	}
	if a.bufferFull.CompareAndSwap(true, false) {
		a.log.Info("reading resumed", "buffered_bytes", n)
	}
	return true
}

// run polls for files and saves positions until the agent stops.
func (a *Agent) run(ctx context.Context) {
	poll := time.NewTicker(a.conf.PollInterval)
	defer poll.Stop()
	save := time.NewTicker(a.conf.PositionInterval)
	defer save.Stop()
	for {
		select {
		case <-poll.C:
			a.system.Root.Send(a.super, &tick{})
		case <-save.C:
			if err := a.savePositions(); err != nil {
				a.positionErrors.Add(1)
				a.log.Error("saving positions failed; retrying", "err", err)
			}
		case <-ctx.Done():
			a.abandon()
			a.err = ctx.Err()
			close(a.done)
			return
		case <-a.stopReq:
			a.err = a.shutdown()
			close(a.done)
			return
		}
	}
}

// stopActors stops every file actor; no line is handed over after it.
func (a *Agent) stopActors() {
	if a.watch != nil {
		a.watch.Close()
	}
	_ = a.system.Root.StopFuture(a.super).Wait()
}

// flush sends every line handed over and waits up to ShutdownTimeout for
// Kafka's answers; it tells whether all came.
func (a *Agent) flush() bool {
	a.producer.close()
	defer a.producer.shutdown()
	select {
	case <-a.producer.drained:
		return true
	case <-time.After(a.conf.ShutdownTimeout):
		return false
	}
}

// abandon stops as a crash would, but within the process: actors stop
// mid-file, nothing more is saved, and the lock is released for the next
// run. Lines in flight get ShutdownTimeout to be answered, so that a next
// run in this process sends its lines after them.
func (a *Agent) abandon() {
	a.stopActors()
	a.flush()
	a.closeFiles()
	a.lock.Close()
	a.system.Shutdown()
}

// shutdown stops reading, waits (up to ShutdownTimeout) for Kafka to answer
// for the lines in flight, and saves the positions they reached.
func (a *Agent) shutdown() error {
	a.stopActors()
	if !a.flush() {
		a.log.Warn("Kafka did not acknowledge every line in time; the next run sends them again",
			"timeout", a.conf.ShutdownTimeout, "buffered_bytes", a.buffered.Load())
	}
	err := a.savePositions()
	if err != nil {
		a.positionErrors.Add(1)
		err = fmt.Errorf("ingest: final positions: %w", err)
	}
	a.closeFiles()
	a.lock.Close()
	a.system.Shutdown()
	return err
}

func (a *Agent) closeFiles() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fs := range a.files {
		if fs.file != nil {
			fs.file.Close()
		}
	}
}

// Stop shuts the agent down cleanly: reading stops, lines in flight are
// given ShutdownTimeout to be acknowledged, and the position file is
// saved. It returns what Wait returns.
func (a *Agent) Stop() error {
	a.stopOnce.Do(func() { close(a.stopReq) })
	return a.Wait()
}

// Wait waits until the agent has stopped, by Stop (returning its error) or
// by the end of Start's context (returning the context's error).
func (a *Agent) Wait() error {
	<-a.done
	return a.err
}

// savePositions writes the acknowledged offset of every followed file, if
// any moved since the last save.
func (a *Agent) savePositions() error {
	a.mu.Lock()
	ps := make([]position, 0, len(a.files))
	for ino, fs := range a.files {
		ps = append(ps, position{Inode: ino, Offset: fs.tracker.offset(), Path: fs.path()})
	}
	a.mu.Unlock()
	slices.SortFunc(ps, func(x, y position) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Inode, y.Inode))
	})
	if slices.Equal(ps, a.saved) {
		return nil
	}
	if err := savePositions(a.conf.Positions, ps); err != nil {
		return err
	}
	a.saved = ps
	return nil
}

// Metrics returns the agent's counters and the state of its files.
func (a *Agent) Metrics() Metrics {
	m := Metrics{
		LinesRead:      a.linesRead.Load(),
		BytesRead:      a.bytesRead.Load(),
		LinesAcked:     a.linesAcked.Load(),
		BytesAcked:     a.bytesAcked.Load(),
		LinesTooLong:   a.linesTooLong.Load(),
		ProduceErrors:  a.produceErrors.Load(),
		FileErrors:     a.fileErrors.Load(),
		PositionErrors: a.positionErrors.Load(),
	}
	a.mu.Lock()
	for ino, fs := range a.files {
		acked, size := fs.tracker.offset(), fs.size.Load()
		m.Files = append(m.Files, FileMetrics{
			Path: fs.path(), Inode: ino, Topic: fs.topic,
			Size: size, ReadOffset: fs.readOff.Load(), AckedOffset: acked, Lag: max(size-acked, 0),
		})
	}
	a.mu.Unlock()
	slices.SortFunc(m.Files, func(x, y FileMetrics) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Inode, y.Inode))
	})
	return m
}
