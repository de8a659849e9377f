// Package check waits in tests for what other goroutines, processes or
// servers bring about: a condition is polled until it holds or a deadline
// passes, and a test that times out says what the condition last saw, not
// only that it did not hold.
//
// It is squall's one wait helper (nats-server's checkFor): tests poll with a
// deadline through For rather than sleep and hope, or loop on their own.
package check

import (
	"testing"
	"time"
)

// Interval is how long For sleeps between two calls of a condition: short
// against the seconds a test waits for, long enough that a condition that
// asks a server (ZooKeeper, Redis, a node's metrics) does not load it.
const Interval = 10 * time.Millisecond

// For calls cond, and again every Interval, until it returns nil. If that
// does not happen within d, it fails the test with the error cond returned
// last, which should say what it saw ("412 of 1000 ids acked"). cond runs on
// the calling goroutine, so it may itself fail the test on what can never
// come right.
func For(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", d, err)
		}
		time.Sleep(Interval)
	}
}
