package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fileMetrics returns the agent's view of the file at path.
func fileMetrics(a *Agent, path string) (FileMetrics, bool) {
	for _, f := range a.Metrics().Files {
		if f.Path == path {
			return f, true
		}
	}
	return FileMetrics{}, false
}

// 200k lines from three concurrent writers whose files rotate: a and c by
// rename and create, b by copy and truncate. Every line arrives, in order
// per stream, without duplicates.
func TestRotatingFilesNothingLostInOrder(t *testing.T) {
	k := startKafka(t, "orders", 3)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	a := startAgent(t, context.Background(), conf)
	col := collect(t, k, "orders")

	// 66 667 lines each for a and b, 66 666 for c: 200 000.
	const perStream = 66_667
	count := map[string]int{"a": perStream, "b": perStream, "c": perStream - 1}
	var wg sync.WaitGroup
	rename := func(stream string, every int) {
		defer wg.Done()
		path := filepath.Join(dir, stream+".log")
		w := newWriter(t, path)
		for rot := 1; w.n < count[stream]; rot++ {
			for range every {
				if w.n == count[stream] {
					break
				}
				w.write(stream)
			}
			w.close()
			// A file renamed away before any poll saw it is never read (see
			// the package doc); rotations are far apart in real life.
			st, err := os.Stat(path)
			if err != nil {
				t.Error(err)
				return
			}
			if !until(30*time.Second, func() bool { m, ok := fileMetrics(a, path); return ok && m.Inode == inodeOf(st) }) {
				t.Errorf("the agent did not follow %s", path)
				return
			}
			if err := os.Rename(path, fmt.Sprintf("%s.%d", path, rot)); err != nil {
				t.Error(err)
				return
			}
			w.open()
		}
		w.close()
	}
	copyTruncate := func(stream string, every int) {
		defer wg.Done()
		path := filepath.Join(dir, stream+".log")
		w := newWriter(t, path)
		defer w.close()
		for rot := 1; w.n < count[stream]; rot++ {
			for range every {
				if w.n == count[stream] {
					return
				}
				w.write(stream)
			}
			w.flush()
			// Lines the agent has not read when the file is truncated are
			// only in the copy (see the package doc): let it catch up
			// first, and notice the truncation before the file grows back.
			read := func(cond func(FileMetrics) bool) func() bool {
				return func() bool { m, ok := fileMetrics(a, path); return ok && cond(m) }
			}
			if !until(30*time.Second, read(func(m FileMetrics) bool { return m.ReadOffset == w.size })) {
				t.Errorf("the agent did not read %s to its end", path)
				return
			}
			b, err := os.ReadFile(path)
			if err == nil {
				err = os.WriteFile(fmt.Sprintf("%s.%d", path, rot), b, 0o644)
			}
			if err == nil {
				err = w.f.Truncate(0)
			}
			if err != nil {
				t.Error(err)
				return
			}
			old := w.size
			w.size = 0
			if !until(30*time.Second, read(func(m FileMetrics) bool { return m.ReadOffset < old })) {
				t.Errorf("the agent did not notice the truncation of %s", path)
				return
			}
		}
	}
	wg.Add(3)
	go rename("a", 20_000)
	go copyTruncate("b", 25_000)
	go rename("c", 7_000)
	wg.Wait()

	wait(t, 45*time.Second, "every line in Kafka", func() bool { return col.count() >= 200_000 })
	if dups := col.check(t, count, true); len(dups) > 0 {
		t.Fatalf("duplicates without any failure: %v", dups)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	m := a.Metrics()
	t.Logf("metrics: read %d lines, acked %d, errors produce=%d file=%d position=%d",
		m.LinesRead, m.LinesAcked, m.ProduceErrors, m.FileErrors, m.PositionErrors)
	if m.LinesAcked != 200_000 {
		t.Errorf("LinesAcked = %d, want 200000", m.LinesAcked)
	}
}

// The agent is abandoned (its context cancelled, no Stop) five times while
// two writers write. Nothing is missing; lines come twice only from beyond
// the position saved before each kill.
func TestKilledAgentLosesNothing(t *testing.T) {
	k := startKafka(t, "orders", 2)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	col := collect(t, k, "orders")

	const perStream = 20_000
	streams := []string{"a", "b"}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWriter(t, filepath.Join(dir, s+".log"))
			defer w.close()
			for w.n < perStream {
				w.write(s)
				if w.n%100 == 0 {
					w.flush()
					time.Sleep(25 * time.Millisecond) // pace the writer so kills land while it writes
				}
			}
		}()
	}

	// window is what a killed run may have sent beyond its saved position:
	// per file, [saved offset, end of file at the kill).
	type window struct{ from, to int64 }
	windows := map[string][]window{}
	written := make(chan struct{})
	go func() {
		wg.Wait()
		close(written)
	}()
	duringWrites := 0
	for kill := range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		a := startAgent(t, ctx, conf)
		before := col.count()
		// Once everything is written and saved, a run may have nothing to
		// ship: then kill it anyway.
		wait(t, 20*time.Second, "progress before the kill", func() bool {
			select {
			case <-written:
				return true
			default:
				return col.count() > before
			}
		})
		select {
		case <-written:
		default:
			duringWrites++
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond) // a random point to kill at
		cancel()
		if err := a.Wait(); err != context.Canceled {
			t.Fatalf("kill %d: Wait = %v", kill, err)
		}
		saved, err := loadPositions(conf.Positions)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range saved {
			// The killed run read at most what was written by now.
			st, err := os.Stat(p.Path)
			if err != nil {
				t.Fatal(err)
			}
			windows[filepath.Base(p.Path)] = append(windows[filepath.Base(p.Path)], window{p.Offset, st.Size()})
		}
	}
	<-written
	a := startAgent(t, context.Background(), conf)
	want := map[string]int{"a": perStream, "b": perStream}
	wait(t, 30*time.Second, "every line in Kafka", func() bool {
		for _, f := range a.Metrics().Files {
			if f.Lag > 0 || f.Size < perStream*lineLen {
				return false
			}
		}
		return col.distinct() == 2*perStream
	})
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	dups := col.check(t, want, true)
	total := 0
	for s, seqs := range dups {
		total += len(seqs)
		for _, seq := range seqs {
			off, inside := int64(seq*lineLen), false
			for _, w := range windows[s+".log"] {
				inside = inside || (off >= w.from && off < w.to)
			}
			if !inside {
				t.Errorf("stream %s: line %d (offset %d) came twice but was before every saved position: %v", s, seq, off, windows[s+".log"])
			}
		}
	}
	t.Logf("5 kills (%d while writing): %d duplicates of %d lines, all beyond the position saved before a kill", duringWrites, total, 2*perStream)
}

// Kafka is down for 10 s while lines are written: all arrive once it is
// back.
func TestKafkaOutageLosesNothing(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	a := startAgent(t, context.Background(), conf)

	const n = 15_000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := newWriter(t, filepath.Join(dir, "a.log"))
		defer w.close()
		for w.n < n {
			w.write("a")
			if w.n%100 == 0 {
				w.flush()
				time.Sleep(70 * time.Millisecond) // pace the writer to write through the outage
			}
		}
	}()
	acked := func(min int64) func() bool { return func() bool { return a.Metrics().LinesAcked >= min } }
	wait(t, 20*time.Second, "lines acknowledged before the outage", acked(1000))
	k.Stop()
	down := a.Metrics().LinesAcked
	time.Sleep(10 * time.Second) // the outage itself
	k.Start()
	wg.Wait()
	wait(t, 40*time.Second, "every line acknowledged", func() bool {
		m, ok := fileMetrics(a, filepath.Join(dir, "a.log"))
		return ok && m.Size == n*lineLen && m.Lag == 0
	})
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	col := collect(t, k, "orders")
	wait(t, 20*time.Second, "every line in Kafka", func() bool { return col.distinct() == n })
	// Lines refused during the outage are sent again after later lines got
	// through: complete, but not in order.
	dups := col.check(t, map[string]int{"a": n}, false)
	m := a.Metrics()
	t.Logf("outage: %d lines acked before it, %d produce errors, %d duplicates", down, m.ProduceErrors, len(dups["a"]))
}

// While Kafka does not answer, reading stops once MaxBufferedBytes of lines
// await acknowledgement (overshooting by one read at most), says so, and
// resumes when Kafka answers again.
func TestBufferBoundsReadingWhileKafkaStalls(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.MaxBufferedBytes = 64 << 10
	conf.MaxLineLength = 1000 // reads of 256 KiB
	var waits atomic.Int64
	conf.Logger = slog.New(slog.NewTextHandler(countingWriter{"reading waits", &waits}, nil))
	const n = 20_000
	w := newWriter(t, filepath.Join(dir, "a.log"))
	for w.n < n {
		w.write("a")
	}
	w.close()

	release := make(chan struct{})
	c := k.Cluster()
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case <-release:
			c.DropControl()
		default:
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	wait(t, 10*time.Second, "reading to wait for Kafka", func() bool { return waits.Load() > 0 })
	bound := int64(conf.MaxBufferedBytes + 256<<10)
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if m := a.Metrics(); m.BytesRead > bound {
			t.Fatalf("%d bytes read while Kafka stalls, want at most %d", m.BytesRead, bound)
		}
	}
	close(release)
	col := collect(t, k, "orders")
	wait(t, 20*time.Second, "every line in Kafka", func() bool { return col.count() >= n })
	col.check(t, map[string]int{"a": n}, true)
}

// Stop while Kafka is down returns after ShutdownTimeout, saving only what
// Kafka acknowledged; the next run ships the rest.
func TestStopWhileKafkaDownSavesOnlyAcknowledged(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.ShutdownTimeout = 500 * time.Millisecond
	conf.Logger = slog.New(slog.DiscardHandler)
	path := filepath.Join(dir, "a.log")
	w := newWriter(t, path)
	for w.n < 100 {
		w.write("a")
	}
	w.flush()
	a := startAgent(t, context.Background(), conf)
	wait(t, 10*time.Second, "the first lines acknowledged", func() bool {
		m, ok := fileMetrics(a, path)
		return ok && m.AckedOffset == 100*lineLen
	})
	k.Stop()
	for w.n < 200 {
		w.write("a")
	}
	w.close()
	wait(t, 10*time.Second, "the new lines sent into the outage", func() bool { return a.Metrics().LinesRead >= 200 })
	stopping := time.Now()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(stopping); d > 5*time.Second {
		t.Fatalf("Stop took %v with ShutdownTimeout %v", d, conf.ShutdownTimeout)
	}
	ps, err := loadPositions(conf.Positions)
	if err != nil || len(ps) != 1 || ps[0].Offset != 100*lineLen {
		t.Fatalf("positions %+v, %v; want offset %d, what Kafka acknowledged", ps, err, 100*lineLen)
	}
	k.Start()
	a = startAgent(t, context.Background(), conf)
	defer a.Stop()
	col := collect(t, k, "orders")
	wait(t, 20*time.Second, "every line in Kafka", func() bool { return col.distinct() == 200 })
	col.check(t, map[string]int{"a": 200}, true)
}

// With polling all but off, a line appended to a followed file, and a new
// file, still reach Kafka at once: the agent is told of writes (inotify).
func TestWritesAreSeenWithoutWaitingForThePoll(t *testing.T) {
	k := startKafka(t, "orders", 1)
	dir := t.TempDir()
	conf := testConfig(t, k, "orders", dir)
	conf.PollInterval = time.Hour
	appendTo := func(name, text string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
	}
	appendTo("a.log", line("a", 0))
	col := collect(t, k, "orders")
	a := startAgent(t, context.Background(), conf)
	defer a.Stop()
	wait(t, 10*time.Second, "the line there at start", func() bool { return col.count() == 1 })
	appendTo("a.log", line("a", 1))
	wait(t, 10*time.Second, "the appended line, long before the next poll", func() bool { return col.count() == 2 })
	appendTo("b.log", line("b", 0))
	wait(t, 10*time.Second, "the new file's line, long before the next poll", func() bool { return col.count() == 3 })
}
