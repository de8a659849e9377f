package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
)

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// hasValues is a condition: the topic holds exactly want, in any order.
func hasValues(col *collector, want ...string) func() error {
	return valuesAre(col, want, false)
}

// hasDistinctValues is hasValues where lines may arrive twice: a restarted
// reader sends again what its crashed predecessor had in flight.
func hasDistinctValues(col *collector, want ...string) func() error {
	return valuesAre(col, want, true)
}

func valuesAre(col *collector, want []string, twiceAllowed bool) func() error {
	return func() error {
		got, w := col.values(), slices.Clone(want)
		slices.Sort(got)
		slices.Sort(w)
		if twiceAllowed {
			got, w = slices.Compact(got), slices.Compact(w)
		}
		if !slices.Equal(got, w) {
			return fmt.Errorf("Kafka holds %q, want %q", got, w)
		}
		return nil
	}
}

// A line without its newline is not sent until the newline comes; CRLF
// loses its CR; UTF-8 and other bytes pass unchanged.
func TestPartialLineWaitsForItsNewline(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	var reads atomic.Int64
	conf.beforeRead = func(string) { reads.Add(1) }
	path := filepath.Join(dir, "a.log")
	appendFile(t, path, "first\nsec")
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	col := collect(t, k, "orders")

	check.For(t, 10*time.Second, hasValues(col, "first"))
	// Several polls read the unfinished line without sending it.
	polled := reads.Load()
	check.For(t, 10*time.Second, func() error {
		if n := reads.Load() - polled; n <= 5 {
			return fmt.Errorf("%d polls since the first line, want 6", n)
		}
		return nil
	})
	if m := a.Metrics(); m.LinesRead != 1 {
		t.Fatalf("LinesRead = %d with the second line unfinished, want 1", m.LinesRead)
	}
	garbage := "\xff\xfe\x00bin\xc3"
	appendFile(t, path, "ond\r\nünïcødé 日本\n"+garbage+"\n\r\n")
	check.For(t, 10*time.Second, hasValues(col, "first", "second", "ünïcødé 日本", garbage, ""))
}

// An over-long line is reported, counted and skipped whole, and does not
// hold the saved position back; the lines around it arrive.
func TestOverLongLineSkipped(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.MaxLineLength = 100
	path := filepath.Join(dir, "a.log")
	long := strings.Repeat("x", 5000)
	appendFile(t, path, "before\n"+long+"\r\nafter\n"+long)
	a := startAgent(t, context.Background(), conf)
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, hasValues(col, "before", "after"))
	appendFile(t, path, "\n")
	size := int64(len("before\n" + long + "\r\nafter\n" + long + "\n"))
	check.For(t, 10*time.Second, func() error {
		if n := a.Metrics().LinesTooLong; n != 2 {
			return fmt.Errorf("%d long lines skipped, want 2", n)
		}
		return ackedTo(a, path, size)()
	})
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	ps, err := loadPositions(conf.Positions)
	if err != nil || len(ps) != 1 || ps[0].Offset != size {
		t.Fatalf("positions %+v, %v: want offset %d", ps, err, size)
	}
	if got := col.values(); len(got) != 2 {
		t.Fatalf("got %q, want only the short lines", got)
	}
}

// A file that cannot be opened is reported and tried again until it can.
func TestUnreadableFileRetried(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	var fails atomic.Int64
	fails.Store(5)
	conf.open = func(name string) (*os.File, error) {
		if fails.Add(-1) >= 0 {
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrPermission}
		}
		return os.Open(name)
	}
	appendFile(t, filepath.Join(dir, "a.log"), "one\ntwo\n")
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, hasValues(col, "one", "two"))
	if m := a.Metrics(); m.FileErrors < 4 {
		t.Fatalf("FileErrors = %d, want the failed opens counted", m.FileErrors)
	}
}

// A corrupt position file is reported, moved aside, and every file is read
// from its start.
func TestCorruptPositionFile(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	if err := os.MkdirAll(filepath.Dir(conf.Positions), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf.Positions, []byte(`[{"inode": 1, "offset": 3, "pa`), 0o644); err != nil {
		t.Fatal(err)
	}
	appendFile(t, filepath.Join(dir, "a.log"), "one\ntwo\n")
	a := startAgent(t, context.Background(), conf)
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, hasValues(col, "one", "two"))
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if m := a.Metrics(); m.PositionErrors != 1 {
		t.Fatalf("PositionErrors = %d, want 1", m.PositionErrors)
	}
	aside, _ := filepath.Glob(conf.Positions + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt position file not moved aside: %v", aside)
	}
	if _, err := loadPositions(conf.Positions); err != nil {
		t.Fatalf("the new position file: %v", err)
	}
}

// A deleted file is closed once read and acknowledged, and dropped from the
// positions; a crashed reader is restarted and loses nothing.
func TestDeletedFileClosedAndCrashedReaderRestarted(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.RestartBackoff = 10 * time.Millisecond
	var crashes atomic.Int64
	conf.beforeRead = func(path string) {
		if strings.HasSuffix(path, "b.log") && crashes.Add(1) <= 2 {
			panic(errors.New("injected crash"))
		}
	}
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, "a1\n")
	appendFile(t, b, "b1\nb2\n")
	ag := startAgent(t, context.Background(), conf)
	defer ag.Stop()
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, hasValues(col, "a1", "b1", "b2"))
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	check.For(t, 10*time.Second, func() error {
		if m, ok := fileMetrics(ag, a); ok {
			return fmt.Errorf("the deleted file still followed: %+v", m)
		}
		return nil
	})
	check.For(t, 10*time.Second, func() error {
		ps, err := loadPositions(conf.Positions)
		if err != nil || len(ps) != 1 || ps[0].Path != b {
			return fmt.Errorf("positions %+v (%v), want only %s's", ps, err, b)
		}
		return nil
	})
	if m := ag.Metrics(); m.FileErrors < 2 {
		t.Fatalf("FileErrors = %d, want the crashes counted", m.FileErrors)
	}
}

// An agent started while Kafka is down waits for it, then ships.
func TestStartWaitsForKafka(t *testing.T) {
	k := startKafka(t, "orders", 1)
	k.Stop()
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	var retries atomic.Int64
	conf.Logger = slog.New(slog.NewTextHandler(countingWriter{"Kafka unreachable", &retries}, nil))
	appendFile(t, filepath.Join(dir, "a.log"), "one\n")
	type started struct {
		a   *Agent
		err error
	}
	ch := make(chan started, 1)
	go func() {
		a, err := Start(context.Background(), conf)
		ch <- started{a, err}
	}()
	check.For(t, 10*time.Second, func() error {
		if n := retries.Load(); n < 2 {
			return fmt.Errorf("Start retried %d times, want 2", n)
		}
		return nil
	})
	k.Start()
	s := <-ch
	if s.err != nil {
		t.Fatalf("Start: %v", s.err)
	}
	defer s.a.Stop()
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, hasValues(col, "one"))
}

// countingWriter counts log records containing a text.
type countingWriter struct {
	text string
	n    *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.text) {
		w.n.Add(1)
	}
	return len(p), nil
}

// A crash of the supervisor restarts it with new actors for the files it
// followed, which go on from their acknowledged offsets.
func TestSupervisorCrashRestartsFileActors(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.Logger = slog.New(slog.DiscardHandler)
	path := filepath.Join(dir, "a.log")
	appendFile(t, path, "one\n")
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, ackedTo(a, path, 4))
	// Closing a closed channel panics inside the supervisor.
	found := make(chan struct{})
	close(found)
	a.system.Root.Send(a.super, &tick{found: found})
	appendFile(t, path, "two\n")
	check.For(t, 10*time.Second, hasDistinctValues(col, "one", "two"))
}

// A file truncated and written past the offset read before the agent looks
// again is read from its start, not from the middle of a line.
func TestTruncatedAndRegrownFileReadFromStart(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	path := filepath.Join(dir, "a.log")
	appendFile(t, path, "aaaa\nbbbb\n")
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	col := collect(t, k, "orders")
	check.For(t, 10*time.Second, ackedTo(a, path, 10))
	if err := os.WriteFile(path, []byte("cccccccccccc\ndd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check.For(t, 10*time.Second, hasValues(col, "aaaa", "bbbb", "cccccccccccc", "dd"))
}
