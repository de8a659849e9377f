// Package filter is a generic bolt that passes on the tuples a predicate
// accepts and drops the rest (Trident's filter), so that a topology can cut
// its stream down early without a bolt of its own: in the order pipeline,
// say, only paid orders, or only one province's.
package filter

import (
	"fmt"
	"slices"

	"github.com/squall-stream/squall/topology"
)

// Keep decides whether a tuple passes. An error fails the tuple, and its
// spout replays it; a tuple that can never pass should return false, not
// an error.
type Keep func(t *topology.Tuple) (bool, error)

// New returns a bolt factory: each tuple keep accepts is emitted again with
// the same values, anchored to it, on the default stream with fields; the
// others are acked and dropped. fields must be the fields of every stream
// the bolt reads, in order (Prepare checks it), because a bolt declares its
// output before it knows its inputs.
func New(fields topology.Fields, keep Keep) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt { return &filterBolt{fields: fields, keep: keep} })
}

type filterBolt struct {
	fields topology.Fields
	keep   Keep
}

func (b *filterBolt) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(b.fields) }

// Prepare checks that every input stream has the declared fields.
func (b *filterBolt) Prepare(tc *topology.TopologyContext) error {
	for _, in := range tc.Inputs() {
		if !slices.Equal(in.Fields, b.fields) {
			return fmt.Errorf("filter %s: stream %q of %s has fields %v, not the %v it declares", tc.ComponentID, in.Stream, in.Component, in.Fields, b.fields)
		}
	}
	return nil
}

func (b *filterBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	ok, err := b.keep(t)
	if err != nil || !ok {
		return err
	}
	return out.Emit(t.Values())
}

func (b *filterBolt) Cleanup() error { return nil }
