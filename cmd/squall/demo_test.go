package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is written by the demo's bolts and its dashboard at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func runSquall(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out lockedBuffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDemoPrintsReports(t *testing.T) {
	out, err := runSquall(t, "demo", "--rate", "5000", "--every", "100ms", "--duration", "1s", "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"squall demo:", "orders", "GMV ¥", "dashboard: http://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--rate", "0"}, "--rate must be at least 1"},
		{[]string{"demo", "--every", "-1s"}, "--every must be positive"},
		{[]string{"demo", "--rate", "many"}, "invalid argument"},
		{[]string{"nosuchcommand"}, "unknown command"},
		{[]string{"demo", "--addr", "256.0.0.1:1", "--duration", "1s"}, "dashboard on 256.0.0.1:1"},
	} {
		_, err := runSquall(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("squall %v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
