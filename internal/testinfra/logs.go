package testinfra

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// Logs keeps what its loggers write, as JSON lines, for a test to read
// while the tasks that log are still running.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Logger returns a logger with args attached that writes every level to l.
func (l *Logs) Logger(args ...any) *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})).With(args...)
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Record returns the first record whose message begins with prefix (a
// message may end in details, such as an address), decoded (JSON numbers
// as float64), or nil when there is none yet.
func (l *Logs) Record(prefix string) map[string]any {
	for _, line := range strings.Split(l.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		if msg, _ := r[slog.MessageKey].(string); strings.HasPrefix(msg, prefix) {
			return r
		}
	}
	return nil
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
