// Package check waits in tests for what other goroutines, processes or
// servers bring about: a condition is polled until it holds or a deadline
// passes, and a test that times out says what the condition last saw, not
// only that it did not hold.
//
// It is squall's one wait helper (nats-server's checkFor): tests poll with a
// deadline through For (Within in the goroutines a test starts) rather than
// sleep and hope, or loop on their own.
package check

import (
	"fmt"
	"testing"
	"time"
)

// For sleeps Interval between the first calls of a condition, so that what
// comes about at once is seen at once, and half as long again after each
// call up to MaxInterval, so that a condition that takes seconds and asks a
// server (ZooKeeper, Redis, a node's metrics) or starts a process (squall
// list) does not load the machine it waits on.
const (
	Interval    = 10 * time.Millisecond
	MaxInterval = 200 * time.Millisecond
)

// For calls cond, and again after each pause (Interval, growing to
// MaxInterval), until it returns nil. If that
// does not happen within d, it fails the test with the error cond returned
// last, which should say what it saw ("412 of 1000 ids acked"). cond runs on
// the calling goroutine, so it may itself fail the test on what can never
// come right.
func For(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	if err := Within(d, cond); err != nil {
		t.Fatalf("%v", err)
	}
}

// Within polls cond as For does, and returns nil once it holds, or, at the
// deadline, an error holding the one cond returned last. It is For for a
// goroutine a test starts, which must not end the test (testing.T's
// FailNow): the goroutine reports the error with t.Error, or hands it back.
func Within(d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	pause := Interval
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", d, err)
		}
		time.Sleep(pause)
		pause = min(pause*3/2, MaxInterval)
	}
}
