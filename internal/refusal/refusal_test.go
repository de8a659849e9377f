package refusal

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogsOncePerPeerAndReasonPerInterval(t *testing.T) {
	var buf bytes.Buffer
	l := &Log{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Every: time.Hour}
	for range 5 {
		l.Refuse("10.0.0.1:7000", "unknown task")
	}
	if !l.Refuse("10.0.0.2:7000", "unknown task") {
		t.Error("a second peer's first refusal was not logged")
	}
	if !l.Refuse("10.0.0.1:7000", "bad credit") {
		t.Error("a second reason's first refusal was not logged")
	}
	if got := strings.Count(buf.String(), "\n"); got != 3 {
		t.Fatalf("%d lines, want 3:\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), "from=10.0.0.1:7000") || !strings.Contains(buf.String(), "unknown task") {
		t.Errorf("lines do not name the peer and reason:\n%s", buf.String())
	}
}

func TestCountsWhatItSuppressed(t *testing.T) {
	var buf bytes.Buffer
	l := &Log{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Every: time.Hour}
	l.Refuse("p", "why")
	l.Refuse("p", "why")
	l.Refuse("p", "why")
	l.seen[key{"p", "why"}].at = time.Now().Add(-2 * time.Hour) // the interval has passed
	if !l.Refuse("p", "why") {
		t.Fatal("a refusal past the interval was not logged")
	}
	if !strings.Contains(buf.String(), "refused_since_last_line=2") {
		t.Errorf("the line after an interval does not count the two suppressed:\n%s", buf.String())
	}
}

func TestTableStaysBounded(t *testing.T) {
	l := &Log{Logger: slog.New(slog.DiscardHandler), Every: time.Hour}
	for i := range 3 * maxKeys {
		l.Refuse(strings.Repeat("x", i%97)+string(rune(i)), "why")
	}
	if len(l.seen) > maxKeys {
		t.Fatalf("%d keys remembered, bound %d", len(l.seen), maxKeys)
	}
}
