package orders

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/squall-stream/squall/topology"
)

// LineSpout emits order log lines from a Generator at a fixed rate, each
// tracked by a message id and replayed when its tree fails. It stands in for
// the Kafka spout in the first demo.
type LineSpout struct {
	Seed uint64
	Rate int // orders per second

	gen     *Generator
	out     topology.SpoutOutputCollector
	pending map[string][]byte
	replay  [][]byte
	start   time.Time
	sent    int64
}

// DeclareOutputFields declares the "line" field.
func (s *LineSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("line"))
}

// Open starts the generator.
func (s *LineSpout) Open(tc *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.gen = NewGenerator(s.Seed + uint64(tc.TaskIndex))
	s.out, s.pending, s.start = out, make(map[string][]byte), time.Now()
	return nil
}

// NextTuple emits a replay or, when the rate allows, a new order line.
func (s *LineSpout) NextTuple() {
	var line []byte
	switch {
	case len(s.replay) > 0:
		line, s.replay = s.replay[0], s.replay[1:]
	case float64(s.sent) < time.Since(s.start).Seconds()*float64(s.Rate):
		var err error
		if line, err = json.Marshal(s.gen.Next(time.Now())); err != nil {
			s.out.ReportError(fmt.Errorf("marshal order: %w", err))
			return
		}
		s.sent++
	default:
		return
	}
	id := string(line)
	s.pending[id] = line
	_ = s.out.Emit(topology.Values{line}, id)
}

// Ack forgets a line.
func (s *LineSpout) Ack(id any) { delete(s.pending, id.(string)) }

// Fail queues a line for replay.
func (s *LineSpout) Fail(id any) {
	if line, ok := s.pending[id.(string)]; ok {
		s.replay = append(s.replay, line)
	}
}

// Close does nothing.
func (s *LineSpout) Close() error { return nil }

// ParseBolt turns order lines into order tuples; a malformed line is
// reported and acked (it would fail again on replay), never crashes.
type ParseBolt struct{}

// DeclareOutputFields declares the order fields the analyses use.
func (ParseBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("orderId", "province", "category", "amount"))
}

// Prepare does nothing.
func (ParseBolt) Prepare(*topology.TopologyContext) error { return nil }

// Execute parses one line.
func (ParseBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	o, err := ParseOrder(t.BytesByField("line"))
	if err != nil {
		out.ReportError(err)
		return nil
	}
	return out.Emit(topology.Values{o.OrderID, o.Province, o.Category, o.Amount})
}

// Cleanup does nothing.
func (ParseBolt) Cleanup() error { return nil }

// ProvinceCountBolt counts orders and GMV per province and emits the new
// totals of a province on every order.
type ProvinceCountBolt struct {
	orders map[string]int64
	gmv    map[string]float64
}

// DeclareOutputFields declares the running totals.
func (b *ProvinceCountBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("province", "orders", "gmv"))
}

// Prepare starts empty totals.
func (b *ProvinceCountBolt) Prepare(*topology.TopologyContext) error {
	b.orders, b.gmv = make(map[string]int64), make(map[string]float64)
	return nil
}

// Execute adds one order.
func (b *ProvinceCountBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	p := t.StringByField("province")
	b.orders[p]++
	b.gmv[p] += t.Float64ByField("amount")
	return out.Emit(topology.Values{p, b.orders[p], b.gmv[p]})
}

// Cleanup does nothing.
func (b *ProvinceCountBolt) Cleanup() error { return nil }

// ReportBolt keeps the latest totals per province and prints a table on
// every tick.
type ReportBolt struct {
	Out io.Writer

	orders map[string]int64
	gmv    map[string]float64
}

// DeclareOutputFields declares nothing: the report is a sink.
func (b *ReportBolt) DeclareOutputFields(*topology.OutputDeclarer) {}

// Prepare starts an empty report.
func (b *ReportBolt) Prepare(*topology.TopologyContext) error {
	b.orders, b.gmv = make(map[string]int64), make(map[string]float64)
	return nil
}

// Execute records totals, or prints them on a tick.
func (b *ReportBolt) Execute(t *topology.Tuple, _ topology.BasicOutputCollector) error {
	if t.IsTick() {
		b.print()
		return nil
	}
	p := t.StringByField("province")
	b.orders[p] = t.Int64ByField("orders")
	b.gmv[p] = t.Float64ByField("gmv")
	return nil
}

func (b *ReportBolt) print() {
	provinces := make([]string, 0, len(b.orders))
	var total int64
	var gmv float64
	for p, n := range b.orders {
		provinces = append(provinces, p)
		total += n
		gmv += b.gmv[p]
	}
	sort.Slice(provinces, func(i, j int) bool { return b.gmv[provinces[i]] > b.gmv[provinces[j]] })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s  orders %d  GMV ¥%.2f\n", time.Now().Format("15:04:05"), total, gmv)
	for _, p := range provinces {
		fmt.Fprintf(&sb, "  %-6s %8d orders  ¥%14.2f\n", p, b.orders[p], b.gmv[p])
	}
	fmt.Fprint(b.Out, sb.String())
}

// Cleanup prints the final report.
func (b *ReportBolt) Cleanup() error {
	b.print()
	return nil
}

// CountTopology is the first order-count topology: generated order lines →
// parse → per-province totals (fields grouping) → a report printed every
// reportEvery.
func CountTopology(rate int, reportEvery time.Duration, out io.Writer) (*topology.Topology, error) {
	b := topology.NewBuilder()
	b.SetSpout("orders", func() topology.Spout { return &LineSpout{Seed: 1, Rate: rate} }, 1)
	b.SetBolt("parse", topology.Basic(func() topology.BasicBolt { return ParseBolt{} }), 2).ShuffleGrouping("orders")
	b.SetBolt("province", topology.Basic(func() topology.BasicBolt { return &ProvinceCountBolt{} }), 2).FieldsGrouping("parse", "province")
	b.SetBolt("report", topology.Basic(func() topology.BasicBolt { return &ReportBolt{Out: out} }), 1).
		GlobalGrouping("province").TickFrequency(reportEvery)
	return b.Build()
}
