package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/IBM/sarama"
)

// Defaults of Config's zero values.
const (
	DefaultMaxLineLength    = 512 << 10
	DefaultPollInterval     = 250 * time.Millisecond
	DefaultBatchBytes       = 1 << 20
	DefaultBatchLines       = 10000
	DefaultLinger           = 5 * time.Millisecond
	DefaultMaxBufferedBytes = 64 << 20
	DefaultPositionInterval = time.Second
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultRetryBackoff     = 100 * time.Millisecond
	DefaultRetryBackoffMax  = 5 * time.Second
	DefaultRestartBackoff   = 100 * time.Millisecond
	DefaultShutdownTimeout  = 5 * time.Second
	DefaultClientID         = "squall-tail"
)

// Config configures an Agent. The zero value of every field but Brokers,
// Groups and Positions means its documented default.
type Config struct {
	// Brokers are the Kafka bootstrap addresses (host:port). Required.
	Brokers []string
	// Groups say which files go to which topic. At least one is required.
	// A file matched by several groups belongs to the first.
	Groups []FileGroup
	// Positions is the path of the position file, which records per file
	// how far Kafka has acknowledged every line. Required. Its directory is
	// created if missing; a lock file beside it (Positions + ".lock") keeps
	// a second agent from sharing it.
	Positions string

	// MaxLineLength is the longest line, in bytes without its line ending,
	// that is produced (default DefaultMaxLineLength). A longer line is
	// reported with its file, offset and length, counted, and skipped whole.
	// Keep it below the broker's message.max.bytes.
	MaxLineLength int
	// PollInterval is how often files are globbed for new ones and idle
	// files are checked for growth (default DefaultPollInterval). Where the
	// kernel tells of changes (inotify, for globs whose directory has no
	// wildcard), writes and new files are seen at once and polling is the
	// fallback.
	PollInterval time.Duration

	// BatchBytes and BatchLines make the producer send a partition's batch
	// once it holds that many bytes (of encoded records, and never more
	// than the client's Producer.MaxMessageBytes) or lines (defaults
	// DefaultBatchBytes, DefaultBatchLines); Linger is the longest a line
	// waits for its batch to fill (default DefaultLinger). A line's record
	// carries its batch's time.
	BatchBytes int
	BatchLines int
	Linger     time.Duration
	// Acks is what the producer waits for before a line counts as shipped
	// (default AcksAll). Anything but AcksAll needs DisableIdempotence.
	Acks Acks
	// DisableIdempotence turns off the idempotent producer, which is on by
	// default so that the producer's own retries neither duplicate nor
	// reorder lines. Without it a partition has one batch in flight at a
	// time, so that retries keep the order, but may duplicate lines.
	DisableIdempotence bool
	// Compression compresses batches (default none); the level is the
	// client's Producer.CompressionLevel (see Sarama).
	Compression sarama.CompressionCodec
	// KafkaVersion is the protocol version to speak, such as "3.6.0"
	// (default sarama.DefaultVersion); at least 0.11, which brought the
	// record batches the producer sends.
	KafkaVersion string
	// ClientID names the producer to the brokers (default DefaultClientID).
	ClientID string
	// Sarama, if set, adjusts the Kafka client's configuration last, for
	// what Config does not cover (TLS, SASL, timeouts, metadata refresh).
	// Of its Producer settings the producer uses Timeout (how long brokers
	// wait for replicas), MaxMessageBytes, CompressionLevel and
	// Transaction.Timeout, and of Net, MaxOpenRequests (requests in flight
	// per broker); Acks, idempotence, compression, batching and retries
	// come from Config. Partitions added to a topic are taken up as often
	// as Metadata.RefreshFrequency (sarama's default 10 minutes).
	Sarama func(*sarama.Config)

	// MaxBufferedBytes bounds the bytes of lines read but not yet
	// acknowledged by Kafka (default DefaultMaxBufferedBytes). When it is
	// reached, reading waits; each file may overshoot it by one read.
	MaxBufferedBytes int
	// PositionInterval is how often the position file is rewritten when
	// positions moved (default DefaultPositionInterval). It is also written
	// on Stop.
	PositionInterval time.Duration
	// IdleTimeout closes a file that no glob matches any more (renamed out
	// of the watched names, with no successor at its old name) once it has
	// been read to its end and did not grow for this long (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// RetryBackoff is the first wait before the producer sends a batch
	// again that Kafka could not take (no leader, a broker unreachable, a
	// timeout); the wait doubles on each failure up to RetryBackoffMax
	// (defaults DefaultRetryBackoff, DefaultRetryBackoffMax), and such
	// batches are retried until Kafka takes them. Lines of a batch Kafka
	// refused for good are read from the file and sent again, after the
	// same backoff.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// RestartBackoff is the first wait before a crashed file actor is
	// restarted; it grows with repeated crashes (default
	// DefaultRestartBackoff).
	RestartBackoff time.Duration
	// ShutdownTimeout bounds how long Stop waits for Kafka to acknowledge
	// lines already sent (default DefaultShutdownTimeout). Lines not
	// acknowledged by then are sent again by the next run.
	ShutdownTimeout time.Duration
	// Logger receives reports of bad input, Kafka trouble and rotation
	// (default slog.Default()).
	Logger *slog.Logger

	// open opens a file for reading (default os.Open); tests inject
	// failures through it.
	open func(name string) (*os.File, error)
	// beforeRead, if set, runs before each read of a file; tests crash
	// file actors through it.
	beforeRead func(path string)
}

// FileGroup sends the lines of every file matching one of its globs to one
// topic.
type FileGroup struct {
	// Topic is the Kafka topic the lines go to. Required.
	Topic string
	// Globs are filepath.Match patterns of the files to follow, such as
	// "/var/log/orders/*.log". Rotated files should not match them (with
	// copy-truncate rotation, a matching copy would be read again whole).
	Globs []string
	// KeyField, if set, names a top-level field of JSON lines whose value
	// becomes the record key (a string as is, anything else as its JSON
	// text), so that lines with equal keys keep their order in one
	// partition. Lines that are not JSON objects or lack the field are
	// produced without a key, as are all lines when KeyField is empty.
	KeyField string
}

// Acks is the acknowledgement the producer waits for.
type Acks int

// The acknowledgement levels; the zero value is AcksAll.
const (
	// AcksAll waits until every in-sync replica has the line.
	AcksAll Acks = iota
	// AcksLeader waits for the partition leader only.
	AcksLeader
	// AcksNone does not wait: a line counts as shipped once sent.
	AcksNone
)

func (a Acks) sarama() sarama.RequiredAcks {
	switch a {
	case AcksLeader:
		return sarama.WaitForLocal
	case AcksNone:
		return sarama.NoResponse
	default:
		return sarama.WaitForAll
	}
}

// Configuration errors that Start returns, wrapped with the field at fault.
var (
	// ErrNoBrokers means Config.Brokers is empty.
	ErrNoBrokers = errors.New("no Kafka brokers")
	// ErrNoGroups means Config.Groups is empty or a group has no globs.
	ErrNoGroups = errors.New("no files to follow")
	// ErrNoTopic means a file group has no topic.
	ErrNoTopic = errors.New("no topic")
	// ErrBadGlob means a glob pattern is malformed.
	ErrBadGlob = errors.New("malformed glob")
	// ErrNoPositions means Config.Positions is empty.
	ErrNoPositions = errors.New("no position file")
	// ErrIdempotenceNeedsAcksAll means Acks is not AcksAll while the
	// idempotent producer is on.
	ErrIdempotenceNeedsAcksAll = errors.New("the idempotent producer needs acks=all")
	// ErrBadSetting means a size or duration is negative, or the Kafka
	// version is not one sarama knows or is older than 0.11.
	ErrBadSetting = errors.New("bad setting")
)

// withDefaults returns c with defaults filled in, or the first problem.
func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("ingest: Brokers: %w", ErrNoBrokers)
	}
	if len(c.Groups) == 0 {
		return c, fmt.Errorf("ingest: Groups: %w", ErrNoGroups)
	}
	for i, g := range c.Groups {
		if g.Topic == "" {
			return c, fmt.Errorf("ingest: Groups[%d]: %w", i, ErrNoTopic)
		}
		if len(g.Globs) == 0 {
			return c, fmt.Errorf("ingest: Groups[%d] (topic %q): %w", i, g.Topic, ErrNoGroups)
		}
		for _, p := range g.Globs {
			if _, err := filepath.Match(p, ""); err != nil || p == "" {
				return c, fmt.Errorf("ingest: Groups[%d] (topic %q): %w: %q", i, g.Topic, ErrBadGlob, p)
			}
		}
	}
	if c.Positions == "" {
		return c, fmt.Errorf("ingest: Positions: %w", ErrNoPositions)
	}
	if c.Acks != AcksAll && !c.DisableIdempotence {
		return c, fmt.Errorf("ingest: Acks: %w", ErrIdempotenceNeedsAcksAll)
	}
	if c.Acks < AcksAll || c.Acks > AcksNone {
		return c, fmt.Errorf("ingest: Acks %d: %w", c.Acks, ErrBadSetting)
	}
	for name, v := range map[string]int64{
		"MaxLineLength": int64(c.MaxLineLength), "PollInterval": int64(c.PollInterval),
		"BatchBytes": int64(c.BatchBytes), "BatchLines": int64(c.BatchLines), "Linger": int64(c.Linger),
		"MaxBufferedBytes": int64(c.MaxBufferedBytes), "PositionInterval": int64(c.PositionInterval),
		"IdleTimeout": int64(c.IdleTimeout), "RetryBackoff": int64(c.RetryBackoff),
		"RetryBackoffMax": int64(c.RetryBackoffMax), "RestartBackoff": int64(c.RestartBackoff),
		"ShutdownTimeout": int64(c.ShutdownTimeout),
	} {
		if v < 0 {
			return c, fmt.Errorf("ingest: %s is negative: %w", name, ErrBadSetting)
		}
	}
	if c.KafkaVersion != "" {
		// Record batches, which the producer sends, came with Kafka 0.11.
		if v, err := sarama.ParseKafkaVersion(c.KafkaVersion); err != nil || !v.IsAtLeast(sarama.V0_11_0_0) {
			return c, fmt.Errorf("ingest: KafkaVersion %q: %w", c.KafkaVersion, ErrBadSetting)
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxLineLength, DefaultMaxLineLength)
	def(&c.BatchBytes, DefaultBatchBytes)
	def(&c.BatchLines, DefaultBatchLines)
	def(&c.MaxBufferedBytes, DefaultMaxBufferedBytes)
	defDur(&c.PollInterval, DefaultPollInterval)
	defDur(&c.Linger, DefaultLinger)
	defDur(&c.PositionInterval, DefaultPositionInterval)
	defDur(&c.IdleTimeout, DefaultIdleTimeout)
	defDur(&c.RetryBackoff, DefaultRetryBackoff)
	defDur(&c.RetryBackoffMax, DefaultRetryBackoffMax)
	defDur(&c.RestartBackoff, DefaultRestartBackoff)
	defDur(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.RetryBackoffMax < c.RetryBackoff {
		c.RetryBackoffMax = c.RetryBackoff
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.open == nil {
		c.open = os.Open
	}
	return c, nil
}
