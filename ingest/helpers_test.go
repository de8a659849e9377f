package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/twmb/franz-go/pkg/kfake"
)

func startKafka(t *testing.T, topic string, partitions int32) *testinfra.Kafka {
	t.Helper()
	return testinfra.StartKafka(t, kfake.SeedTopics(partitions, topic))
}

// testConfig follows dir/*.log into topic, keyed by the lines' "f" field,
// with fast polling and saving.
func testConfig(t *testing.T, k *testinfra.Kafka, topic, dir string) Config {
	return testConfigFor(t, k.Brokers(), topic, dir)
}

// testConfigFor is testConfig for any brokers.
func testConfigFor(t *testing.T, brokers []string, topic, dir string) Config {
	return Config{
		Brokers:          brokers,
		Groups:           []FileGroup{{Topic: topic, Globs: []string{dir + "/*.log"}, KeyField: "f"}},
		Positions:        dir + "/state/positions.json",
		PollInterval:     20 * time.Millisecond,
		PositionInterval: 50 * time.Millisecond,
		RetryBackoff:     50 * time.Millisecond,
		RetryBackoffMax:  500 * time.Millisecond,
		IdleTimeout:      time.Second,
		Logger:           testLogger(t),
	}
}

// testLogger logs warnings and errors into the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startAgent(t *testing.T, ctx context.Context, conf Config) *Agent {
	t.Helper()
	a, err := Start(ctx, conf)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	return a
}

// collector consumes every partition of a topic from the start, keeping
// each partition's records in order.
type collector struct {
	mu    sync.Mutex
	parts map[int32][][]byte
	n     int
}

func collect(t *testing.T, k *testinfra.Kafka, topic string) *collector {
	t.Helper()
	return collectFrom(t, k.Brokers(), topic)
}

// collectFrom is collect from any brokers.
func collectFrom(t *testing.T, brokers []string, topic string) *collector {
	t.Helper()
	c, err := sarama.NewConsumer(brokers, sarama.NewConfig())
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	col := &collector{parts: make(map[int32][][]byte)}
	var pcs []sarama.PartitionConsumer
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		pcs = append(pcs, pc)
		go func() {
			for m := range pc.Messages() {
				col.mu.Lock()
				col.parts[p] = append(col.parts[p], m.Value)
				col.n++
				col.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		for _, pc := range pcs {
			pc.AsyncClose()
		}
		c.Close()
	})
	return col
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// atLeast is a condition: the topic holds at least n records.
func (c *collector) atLeast(n int) func() error {
	return func() error {
		if got := c.count(); got < n {
			return fmt.Errorf("%d of %d records in Kafka", got, n)
		}
		return nil
	}
}

// countIs is a condition: the topic holds n records, no more.
func (c *collector) countIs(n int) func() error {
	return func() error {
		if got := c.count(); got != n {
			return fmt.Errorf("%d records in Kafka, want %d", got, n)
		}
		return nil
	}
}

// distinct counts the different test lines received.
func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range c.parts {
		for _, v := range p {
			seen[string(v)] = true
		}
	}
	return len(seen)
}

// distinctAre is a condition: the topic holds n different test lines.
func (c *collector) distinctAre(n int) func() error {
	return func() error {
		if got := c.distinct(); got != n {
			return fmt.Errorf("%d of %d distinct lines in Kafka", got, n)
		}
		return nil
	}
}

func (c *collector) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var vs []string
	for _, p := range c.parts {
		for _, v := range p {
			vs = append(vs, string(v))
		}
	}
	return vs
}

// check verifies that the records hold lines 0..want[f]-1 of every stream
// f. With ordered, each stream must be in order (all of a stream's lines
// share a key, so a partition): a line is the next one, or a duplicate of
// one already seen, never beyond a gap. It returns the duplicates per
// stream.
func (c *collector) check(t *testing.T, want map[string]int, ordered bool) map[string][]int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]int{}
	seen := map[string]map[int]bool{}
	dups := map[string][]int{}
	for p, vs := range c.parts {
		for _, v := range vs {
			f, seq, err := parseLine(v)
			if err != nil {
				t.Fatalf("partition %d: %v", p, err)
			}
			if seen[f] == nil {
				seen[f] = map[int]bool{}
			}
			if seen[f][seq] {
				dups[f] = append(dups[f], seq)
				continue
			}
			seen[f][seq] = true
			if ordered && seq != next[f] {
				t.Fatalf("stream %s: line %d follows line %d: lines missing or out of order", f, seq, next[f]-1)
			}
			next[f] = max(next[f], seq+1)
		}
	}
	for f, n := range want {
		if len(seen[f]) != n || next[f] != n {
			t.Fatalf("stream %s: got %d distinct lines up to line %d, want lines 0..%d", f, len(seen[f]), next[f]-1, n-1)
		}
	}
	return dups
}

// A test line: a JSON object with the stream, the sequence number and
// padding, fixed width so that line seq starts at seq*lineLen.
const lineLen = 64

func line(f string, seq int) string {
	s := fmt.Sprintf(`{"f":%q,"seq":%d,"pad":"`, f, seq)
	return s + strings.Repeat("x", lineLen-len(s)-3) + "\"}\n"
}

func parseLine(v []byte) (string, int, error) {
	s := string(v)
	i := strings.Index(s, `"seq":`)
	j := strings.Index(s, `,"pad"`)
	if !strings.HasPrefix(s, `{"f":"`) || i < 0 || j < i {
		return "", 0, fmt.Errorf("not a test line: %q", s)
	}
	seq, err := strconv.Atoi(s[i+6 : j])
	return s[6 : i-2], seq, err
}

// writer appends lines of one stream to a file through a small buffer, so
// that lines often reach the file in pieces.
type writer struct {
	t    *testing.T
	path string
	f    *os.File
	w    *bufio.Writer
	n    int   // lines written
	size int64 // bytes in the current file
}

func newWriter(t *testing.T, path string) *writer {
	w := &writer{t: t, path: path}
	w.open()
	return w
}

func (w *writer) open() {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Error(err)
		return
	}
	w.f, w.w = f, bufio.NewWriterSize(f, 1000)
}

func (w *writer) write(stream string) {
	l := line(stream, w.n)
	if _, err := io.WriteString(w.w, l); err != nil {
		w.t.Error(err)
	}
	w.n++
	w.size += int64(len(l))
}

func (w *writer) flush() {
	if err := w.w.Flush(); err != nil {
		w.t.Error(err)
	}
}

func (w *writer) close() {
	w.flush()
	w.f.Close()
}
