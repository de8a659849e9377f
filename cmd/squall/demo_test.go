package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
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

// The demo runs the whole pipeline: order lines written to a log reach
// Redis through the tail agent, Kafka and the topology.
func TestDemoRunsThePipeline(t *testing.T) {
	out, err := runSquall(t, "demo", "--rate", "2000", "--every", "200ms", "--duration", "4s", "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"squall demo:", "kafka: in-process broker", "redis: ", "dashboard: http://127.0.0.1:", "GMV ¥"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`orders (\d+)`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("no status line:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[len(m)-1][1]); n < 100 {
		t.Fatalf("only %d orders reached Redis in 4s at 2000/s:\n%s", n, out)
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--rate", "0"}, "--rate must be at least 1"},
		{[]string{"demo", "--every", "-1s"}, "--every must be positive"},
		{[]string{"demo", "--malformed", "1.5"}, "--malformed must be a fraction"},
		{[]string{"demo", "--redis", "127.0.0.1:1", "--duration", "5s", "--addr", "127.0.0.1:0"}, "redis at 127.0.0.1:1"},
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
