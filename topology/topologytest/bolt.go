package topologytest

import "github.com/squall-stream/squall/topology"

// BasicFunc returns a bolt factory, for SetBolt, of basic bolts that declare
// fields on the default stream (no stream when fields is nil) and run
// execute on each tuple: acked when it returns nil, failed when it returns
// an error, its emits anchored to the tuple (see topology.BasicBolt). It
// makes the steps around a component under test, such as a bolt that
// records what reaches it, without a type of their own.
//
// Every task calls the same execute: when the bolt has more than one task,
// execute must be safe for concurrent use.
func BasicFunc(fields topology.Fields, execute func(t *topology.Tuple, out topology.BasicOutputCollector) error) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt { return &funcBolt{fields: fields, execute: execute} })
}

type funcBolt struct {
	fields  topology.Fields
	execute func(t *topology.Tuple, out topology.BasicOutputCollector) error
}

func (b *funcBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	if b.fields != nil {
		d.Declare(b.fields)
	}
}

func (b *funcBolt) Prepare(*topology.TopologyContext) error { return nil }

func (b *funcBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	return b.execute(t, out)
}

func (b *funcBolt) Cleanup() error { return nil }
