package orders

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// LogOptions say how WriteOrders writes an order log.
type LogOptions struct {
	// Rate is lines per second; 0 writes as fast as the writer takes them.
	Rate int
	// Count stops after that many lines; 0 writes until ctx is done.
	Count int
	// Malformed is the fraction of lines that are garbage (truncated JSON,
	// text, orders failing validation), as real logs have.
	Malformed float64
	// Seed makes the orders (and the garbage) repeatable.
	Seed uint64
	// Truth, when set, counts every line written.
	Truth *Truth
	// Now gives each order's creation time. Default time.Now.
	Now func() time.Time
}

// WriteOrders writes JSON order lines to w, as an order server logs them,
// and returns how many it wrote. It stops when Count lines are written, ctx
// is done (nil error), or w fails.
func WriteOrders(ctx context.Context, w io.Writer, o LogOptions) (int, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	g := NewGenerator(o.Seed)
	junk := rand.New(rand.NewPCG(o.Seed, 0xbad))
	bw := bufio.NewWriterSize(w, 64<<10)
	written := 0
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for o.Count == 0 || written < o.Count {
		due := 1000
		if o.Rate > 0 {
			due = int(time.Since(start).Seconds()*float64(o.Rate)) - written
		}
		if o.Count > 0 {
			due = min(due, o.Count-written)
		}
		for range due {
			line, err := o.line(g, junk, written)
			if err != nil {
				return written, err
			}
			if _, err := bw.Write(line); err != nil {
				return written, fmt.Errorf("write order log: %w", err)
			}
			written++
		}
		if err := bw.Flush(); err != nil {
			return written, fmt.Errorf("write order log: %w", err)
		}
		if o.Rate == 0 {
			if ctx.Err() != nil {
				return written, nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return written, nil
		case <-tick.C:
		}
	}
	return written, nil
}

// line makes the next line, counting it in the truth.
func (o LogOptions) line(g *Generator, junk *rand.Rand, n int) ([]byte, error) {
	if junk.Float64() < o.Malformed {
		if o.Truth != nil {
			o.Truth.AddMalformed()
		}
		return append(garbage(junk, n), '\n'), nil
	}
	ord := g.Next(o.Now())
	line, err := json.Marshal(ord)
	if err != nil {
		return nil, fmt.Errorf("encode order %s: %w", ord.OrderID, err)
	}
	if o.Truth != nil {
		o.Truth.Add(ord)
	}
	return append(line, '\n'), nil
}

// garbage is a malformed line of one of the kinds real logs have, each
// one different (the analysis counts a line shipped twice once).
func garbage(r *rand.Rand, n int) []byte {
	n = n<<20 | r.IntN(1<<20)
	switch r.IntN(4) {
	case 0:
		return fmt.Appendf(nil, `{"orderId":"O-trunc-%d","userId":"U1","quantity":`, n)
	case 1:
		return fmt.Appendf(nil, "2026-11-25 10:00:00 WARN payment gateway timeout (line %d)", n)
	case 2:
		return fmt.Appendf(nil, `{"orderId":"O-noprov-%d","quantity":1,"amount":99}`, n)
	default:
		return fmt.Appendf(nil, `{"orderId":"O-neg-%d","quantity":-2,"amount":10,"province":"广东"}`, n)
	}
}
