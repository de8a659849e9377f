package check

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// fatalRecorder is a test whose Fatalf records the message and ends the
// goroutine, as testing.T's does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// forOn runs For on a fatalRecorder and returns what it failed with ("" for
// no failure).
func forOn(t *testing.T, d time.Duration, cond func() error) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		For(r, d, cond)
	}()
	<-done
	return r.msg
}

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	msg := forOn(t, 10*time.Second, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if msg != "" || calls != 3 {
		t.Fatalf("failed with %q after %d calls; want no failure after 3", msg, calls)
	}
}

func TestForFailsWithTheLastErrorAtTheDeadline(t *testing.T) {
	calls := 0
	start := time.Now()
	msg := forOn(t, 50*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("%d of 10 acked", calls)
	})
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the deadline", took)
	}
	if want := fmt.Sprintf("still failing after 50ms: %d of 10 acked", calls); msg != want {
		t.Fatalf("failed with %q, want %q", msg, want)
	}
	if calls < 2 {
		t.Fatalf("%d call: the condition was not polled again", calls)
	}
}

func TestWithinReturnsTheLastErrorFromAGoroutine(t *testing.T) {
	errc := make(chan error, 1)
	seen := errors.New("3 of 10 acked")
	go func() {
		errc <- Within(30*time.Millisecond, func() error { return seen })
	}()
	if err := <-errc; !errors.Is(err, seen) || err.Error() != "still failing after 30ms: 3 of 10 acked" {
		t.Fatalf("Within returned %v, want the condition's error at the deadline", err)
	}
	if err := Within(time.Second, func() error { return nil }); err != nil {
		t.Fatalf("Within of a condition that holds: %v", err)
	}
}
