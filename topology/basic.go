package topology

// BasicBolt is a bolt whose input tuples are acked automatically when Execute
// returns nil and failed when it returns an error (Storm's IBasicBolt). Its
// emits are anchored to the input tuple. Wrap it with [Basic].
//
// Execute must not keep t once it returns, as io.Writer's Write must not
// retain p: the runtime reuses the tuple's memory for later input. What it
// holds may be kept: t.Values() and the values in it stay as they are.
type BasicBolt interface {
	DeclareOutputFields(d *OutputDeclarer)
	Prepare(tc *TopologyContext) error
	Execute(t *Tuple, out BasicOutputCollector) error
	Cleanup() error
}

// BasicOutputCollector emits tuples anchored to the tuple being executed.
type BasicOutputCollector interface {
	Emit(values Values) error
	EmitTo(stream string, values Values) error
	EmitDirect(task int, stream string, values Values) error
	ReportError(err error)
}

// Basic turns a BasicBolt factory into a Bolt factory for SetBolt.
func Basic(factory func() BasicBolt) func() Bolt {
	return func() Bolt { return &basicBolt{bolt: factory()} }
}

// basicBolt adapts a BasicBolt to Bolt: anchors emits to the input and acks or
// fails it when Execute returns.
type basicBolt struct {
	bolt BasicBolt
	out  OutputCollector
	// input is the tuple in Execute, as the anchors argument of emits: a
	// field, so that an emit does not allocate a variadic slice.
	input [1]*Tuple
}

func (b *basicBolt) DeclareOutputFields(d *OutputDeclarer) { b.bolt.DeclareOutputFields(d) }

func (b *basicBolt) Prepare(tc *TopologyContext, out OutputCollector) error {
	b.out = out
	return b.bolt.Prepare(tc)
}

func (b *basicBolt) Execute(t *Tuple) {
	b.input[0] = t
	err := b.bolt.Execute(t, b)
	b.input[0] = nil
	if err != nil {
		b.out.ReportError(err)
		b.out.Fail(t)
		return
	}
	b.out.Ack(t)
}

func (b *basicBolt) Cleanup() error { return b.bolt.Cleanup() }

// ReleasesInput tells the runtime that no input tuple is kept: the tuple is
// acked or failed when Execute returns, and a BasicBolt must not keep it.
func (b *basicBolt) ReleasesInput() bool { return true }

// Flush passes the runtime's idle signal on to a BasicBolt that buffers.
func (b *basicBolt) Flush() {
	if f, ok := b.bolt.(Flusher); ok {
		f.Flush()
	}
}

func (b *basicBolt) Emit(values Values) error { return b.out.Emit(values, b.input[:]...) }

func (b *basicBolt) EmitTo(stream string, values Values) error {
	return b.out.EmitTo(stream, values, b.input[:]...)
}

func (b *basicBolt) EmitDirect(task int, stream string, values Values) error {
	return b.out.EmitDirect(task, stream, values, b.input[:]...)
}

func (b *basicBolt) ReportError(err error) { b.out.ReportError(err) }
