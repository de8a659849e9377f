package orders

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
)

func TestGeneratorIsDeterministicAndValid(t *testing.T) {
	at := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	a, b := NewGenerator(7), NewGenerator(7)
	for i := 0; i < 1000; i++ {
		x, y := a.Next(at), b.Next(at)
		if x != y {
			t.Fatalf("order %d differs between equal seeds: %+v vs %+v", i, x, y)
		}
		line, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseOrder(line)
		if err != nil {
			t.Fatalf("generated order does not parse: %v\n%s", err, line)
		}
		if back != x {
			t.Fatalf("round trip changed the order: %+v vs %+v", back, x)
		}
		if x.Amount != x.UnitPrice*float64(x.Quantity) {
			t.Fatalf("amount %v != %v × %d", x.Amount, x.UnitPrice, x.Quantity)
		}
	}
}

func TestParseOrderRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{
		``, `not json`, `{"orderId":""}`, `{"orderId":"O1","quantity":0,"province":"广东"}`,
		`{"orderId":"O1","quantity":1,"amount":-5,"province":"广东"}`, `{"orderId":"O1","quantity":1}`,
		"\xff\xfe{",
	} {
		if _, err := ParseOrder([]byte(line)); !errors.Is(err, ErrMalformedOrder) {
			t.Errorf("ParseOrder(%q) = %v, want ErrMalformedOrder", line, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the report bolt and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCountTopologyReportsProvinces(t *testing.T) {
	var out syncBuffer
	topo, err := CountTopology(5000, 50*time.Millisecond, &out)
	if err != nil {
		t.Fatal(err)
	}
	run, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown()
	check.For(t, 10*time.Second, func() error {
		if got := out.String(); !strings.Contains(got, "广东") {
			return fmt.Errorf("no report naming 广东; output:\n%s", got)
		}
		return nil
	})
	m, _ := run.Component("orders")
	if m.Failed != 0 {
		t.Fatalf("%d order trees failed", m.Failed)
	}
}
