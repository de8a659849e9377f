// Package refusal logs what a node refuses from its peers: connections that
// fail authentication, messages that do not fit the assignment, malformed
// frames. A hostile or broken peer may send thousands of these a second, so
// each (peer, reason) is logged at most once per interval, with the count of
// refusals since its last line; the node stays quiet about nothing.
package refusal

import (
	"log/slog"
	"sync"
	"time"
)

// DefaultEvery is the interval of Log.Every's zero value: a minute.
const DefaultEvery = time.Minute

// maxKeys bounds the (peer, reason) pairs remembered: a peer that invents a
// new address for every message must not grow the table without end. Past
// it, the table is cleared and logging starts over.
const maxKeys = 4096

// Log logs refusals at warning level, once per peer and reason per Every.
// It is safe for concurrent use. The zero value logs to slog.Default().
type Log struct {
	// Logger receives the lines. Default slog.Default().
	Logger *slog.Logger
	// Every is the least time between two lines for one peer and reason.
	// Default DefaultEvery.
	Every time.Duration

	mu   sync.Mutex
	seen map[key]*entry
}

type key struct{ peer, why string }

type entry struct {
	at         time.Time
	suppressed int
}

// Refuse records that what came from peer (a node's address, or a znode a
// node read) was refused for why, with attrs (slog key-value pairs) saying
// more. It reports whether a line was logged.
func (l *Log) Refuse(peer, why string, attrs ...any) bool {
	every := l.Every
	if every <= 0 {
		every = DefaultEvery
	}
	now := time.Now()
	l.mu.Lock()
	if l.seen == nil || len(l.seen) >= maxKeys {
		l.seen = make(map[key]*entry)
	}
	k := key{peer, why}
	e := l.seen[k]
	if e != nil && now.Sub(e.at) < every {
		e.suppressed++
		l.mu.Unlock()
		return false
	}
	suppressed := 0
	if e == nil {
		l.seen[k] = &entry{at: now}
	} else {
		suppressed, e.at, e.suppressed = e.suppressed, now, 0
	}
	l.mu.Unlock()
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs = append([]any{"from", peer}, attrs...)
	if suppressed > 0 {
		attrs = append(attrs, "refused_since_last_line", suppressed)
	}
	logger.Warn("refused: "+why, attrs...)
	return true
}
