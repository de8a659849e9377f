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

	"github.com/squall-stream/squall/internal/check"
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

// ackedTo is a condition: the agent has Kafka's acknowledgement of the file
// at path up to offset.
func ackedTo(a *Agent, path string, offset int64) func() error {
	return func() error {
		if m, ok := fileMetrics(a, path); !ok || m.AckedOffset != offset {
			return fmt.Errorf("%s acknowledged to offset %d (followed: %t), want %d", path, m.AckedOffset, ok, offset)
		}
		return nil
	}
}

// linesAcked is a condition: the agent has Kafka's acknowledgement of n
// lines, each once.
func linesAcked(a *Agent, n int64) func() error {
	return func() error {
		if got := a.Metrics().LinesAcked; got != n {
			return fmt.Errorf("%d lines acknowledged, want %d", got, n)
		}
		return nil
	}
}

// linesFlowing is a condition: at least n lines acknowledged, for a test
// that disturbs Kafka once lines flow.
func linesFlowing(a *Agent, n int64) func() error {
	return func() error {
		if got := a.Metrics().LinesAcked; got < n {
			return fmt.Errorf("%d lines acknowledged, want %d before the disturbance", got, n)
		}
		return nil
	}
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
			if err := check.Within(30*time.Second, func() error {
				m, ok := fileMetrics(a, path)
				if !ok || m.Inode != inodeOf(st) {
					return fmt.Errorf("%s: the agent follows inode %d (followed: %t), want %d", path, m.Inode, ok, inodeOf(st))
				}
				return nil
			}); err != nil {
				t.Error(err)
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
			read := func(want string, cond func(FileMetrics) bool) func() error {
				return func() error {
					if m, ok := fileMetrics(a, path); !ok || !cond(m) {
						return fmt.Errorf("%s read to offset %d (followed: %t), want %s", path, m.ReadOffset, ok, want)
					}
					return nil
				}
			}
			if err := check.Within(30*time.Second, read(fmt.Sprintf("its end, %d", w.size), func(m FileMetrics) bool { return m.ReadOffset == w.size })); err != nil {
				t.Error(err)
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
			if err := check.Within(30*time.Second, read(fmt.Sprintf("below %d, the truncation noticed", old), func(m FileMetrics) bool { return m.ReadOffset < old })); err != nil {
				t.Error(err)
				return
			}
		}
	}
	wg.Add(3)
	go rename("a", 20_000)
	go copyTruncate("b", 25_000)
	go rename("c", 7_000)
	wg.Wait()

	check.For(t, 45*time.Second, col.atLeast(200_000))
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
		check.For(t, 20*time.Second, func() error {
			select {
			case <-written:
				return nil
			default:
			}
			if n := col.count(); n <= before {
				return fmt.Errorf("kill %d: %d records in Kafka, as before the run: no progress", kill, n)
			}
			return nil
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
	check.For(t, 30*time.Second, func() error {
		for _, f := range a.Metrics().Files {
			if f.Lag > 0 || f.Size < perStream*lineLen {
				return fmt.Errorf("%s: lag %d bytes, size %d of %d", f.Path, f.Lag, f.Size, perStream*lineLen)
			}
		}
		return col.distinctAre(2 * perStream)()
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
	check.For(t, 20*time.Second, linesFlowing(a, 1000))
	k.Stop()
	down := a.Metrics().LinesAcked
	time.Sleep(10 * time.Second) // the outage itself
	k.Start()
	wg.Wait()
	check.For(t, 40*time.Second, func() error {
		m, ok := fileMetrics(a, filepath.Join(dir, "a.log"))
		if !ok || m.Size != n*lineLen || m.Lag != 0 {
			return fmt.Errorf("a.log (followed: %t): size %d of %d, lag %d bytes", ok, m.Size, n*lineLen, m.Lag)
		}
		return nil
	})
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	col := collect(t, k, "orders")
	check.For(t, 20*time.Second, col.distinctAre(n))
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
	check.For(t, 10*time.Second, func() error {
		if waits.Load() == 0 {
			return fmt.Errorf("reading has not waited for Kafka; %d bytes read", a.Metrics().BytesRead)
		}
		return nil
	})
	bound := int64(conf.MaxBufferedBytes + 256<<10)
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if m := a.Metrics(); m.BytesRead > bound {
			t.Fatalf("%d bytes read while Kafka stalls, want at most %d", m.BytesRead, bound)
		}
	}
	close(release)
	col := collect(t, k, "orders")
	check.For(t, 20*time.Second, col.atLeast(n))
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
	check.For(t, 10*time.Second, ackedTo(a, path, 100*lineLen))
	k.Stop()
	for w.n < 200 {
		w.write("a")
	}
	w.close()
	check.For(t, 10*time.Second, func() error {
		if n := a.Metrics().LinesRead; n < 200 {
			return fmt.Errorf("%d of 200 lines read into the outage", n)
		}
		return nil
	})
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
	check.For(t, 20*time.Second, col.distinctAre(200))
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
	// Each line within 10 s, where the next poll is an hour away.
	check.For(t, 10*time.Second, col.countIs(1)) // the line there at start
	appendTo("a.log", line("a", 1))
	check.For(t, 10*time.Second, col.countIs(2)) // the appended line
	appendTo("b.log", line("b", 0))
	check.For(t, 10*time.Second, col.countIs(3)) // the new file's line
}
