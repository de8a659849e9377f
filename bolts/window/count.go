package window

import (
	"fmt"
	"slices"

	"github.com/squall-stream/squall/topology"
)

// CountFields are the fields a Count bolt emits after its key fields: the
// window's bounds and the number of tuples of the key in it.
var CountFields = topology.NewFields("start", "end", "count")

// Count returns a windowed bolt that counts the tuples of each key in each
// window and emits, per key present, the key's values followed by
// CountFields (start and end as time.Time, count as int64), anchored to that
// key's tuples. Keys are the values of keyFields; no keyFields counts all
// tuples under one empty key. Wrap it with New.
//
//	b.SetBolt("orders-per-province", window.New(window.Count("province"),
//		window.Config{Length: time.Minute, Slide: 10 * time.Second}), 2).
//		FieldsGrouping("parse", "province")
func Count(keyFields ...string) func() Bolt {
	return func() Bolt { return &countBolt{keys: keyFields} }
}

type countBolt struct {
	keys []string
	// Per window, reused: the tuples of each key in order of first arrival.
	index  map[string]int
	groups [][]*topology.Tuple
	buf    []byte
}

func (c *countBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields(append(slices.Clone(c.keys), CountFields...)...))
}

// Prepare checks that every stream the bolt reads declares the key fields:
// a missing one would count every tuple under a nil key.
func (c *countBolt) Prepare(tc *topology.TopologyContext) error {
	if err := tc.RequireInputFields(c.keys...); err != nil {
		return fmt.Errorf("window count: %w", err)
	}
	c.index = make(map[string]int)
	return nil
}

func (c *countBolt) Execute(w *Window, out Collector) error {
	clear(c.index)
	c.groups = c.groups[:0]
	for _, t := range w.Tuples {
		c.buf = c.buf[:0]
		for _, f := range c.keys {
			v := t.ValueByField(f)
			// The type keeps int64(1) and "1" apart.
			c.buf = fmt.Appendf(c.buf, "%T\x00%v\x00", v, v)
		}
		i, ok := c.index[string(c.buf)]
		if !ok {
			i = len(c.groups)
			c.index[string(c.buf)] = i
			if i < cap(c.groups) {
				c.groups = c.groups[:i+1]
				c.groups[i] = c.groups[i][:0]
			} else {
				c.groups = append(c.groups, nil)
			}
		}
		c.groups[i] = append(c.groups[i], t)
	}
	for _, g := range c.groups {
		values := make(topology.Values, 0, len(c.keys)+len(CountFields))
		for _, f := range c.keys {
			values = append(values, g[0].ValueByField(f))
		}
		values = append(values, w.Start, w.End, int64(len(g)))
		if err := out.EmitAnchored(topology.DefaultStream, values, g); err != nil {
			return err
		}
	}
	for i := range c.groups {
		clear(c.groups[i])
	}
	return nil
}

func (c *countBolt) Cleanup() error { return nil }
