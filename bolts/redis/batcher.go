package redis

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/squall-stream/squall/topology"
)

// Defaults of the bolts' batching.
const (
	DefaultBatchSize = 1024
	DefaultLinger    = 5 * time.Millisecond
	DefaultTimeout   = 5 * time.Second
)

// batcher buffers a bolt's input tuples and decides when to flush: when
// BatchSize are buffered, when the oldest waited Linger, on a tick, and when
// the runtime reports the input ran dry. It is used from the bolt's
// goroutine only.
type batcher struct {
	size    int
	linger  time.Duration
	tuples  []*topology.Tuple
	firstAt time.Time
}

func newBatcher(size int, linger time.Duration) batcher {
	if size <= 0 {
		size = DefaultBatchSize
	}
	if linger <= 0 {
		linger = DefaultLinger
	}
	return batcher{size: size, linger: linger}
}

func (b *batcher) add(t *topology.Tuple) {
	if len(b.tuples) == 0 {
		b.firstAt = time.Now()
	}
	b.tuples = append(b.tuples, t)
}

// due reports whether the buffer should be flushed now.
func (b *batcher) due() bool {
	return len(b.tuples) >= b.size || (len(b.tuples) > 0 && time.Since(b.firstAt) >= b.linger)
}

// take empties the buffer.
func (b *batcher) take() []*topology.Tuple {
	out := b.tuples
	b.tuples = nil
	return out
}

// burstLog logs the first error of a burst and counts the rest, so a Redis
// outage is one log line a second, not one per tuple.
type burstLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	lastAt     time.Time
	suppressed int
}

func (l *burstLog) error(msg string, err error, attrs ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.lastAt) < time.Second {
		l.suppressed++
		return
	}
	if l.suppressed > 0 {
		attrs = append(attrs, "suppressed", l.suppressed)
	}
	l.log.Error(msg, append(attrs, "err", err)...)
	l.lastAt, l.suppressed = time.Now(), 0
}

// tupleError names a tuple's keys in a Redis error.
func tupleError(keys []string, err error) error {
	return fmt.Errorf("redis keys %v: %w", keys, err)
}
