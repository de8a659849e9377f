// Package project is a generic bolt that keeps some fields of each tuple,
// in a given order (Trident's project): the order analysis' parse output
// cut down to, say, (province, amount) for a bolt that needs no more.
package project

import (
	"fmt"

	"github.com/squall-stream/squall/topology"
)

// New returns a bolt factory that emits, for each tuple, the values of
// fields in that order, anchored to it, on the default stream. Every stream
// the bolt reads must declare each field (Prepare checks it).
func New(fields ...string) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt { return &projectBolt{fields: topology.NewFields(fields...)} })
}

type projectBolt struct{ fields topology.Fields }

func (b *projectBolt) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(b.fields) }

// Prepare checks that every input stream declares the kept fields.
func (b *projectBolt) Prepare(tc *topology.TopologyContext) error {
	if err := tc.RequireInputFields(b.fields...); err != nil {
		return fmt.Errorf("project: %w", err)
	}
	return nil
}

func (b *projectBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	values := make(topology.Values, len(b.fields))
	for i, f := range b.fields {
		values[i] = t.ValueByField(f)
	}
	return out.Emit(values)
}

func (b *projectBolt) Cleanup() error { return nil }
