package topology

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Builder wires spouts and bolts into a Topology (Storm's TopologyBuilder).
// Its methods record; Build checks everything at once and reports every
// problem it finds.
type Builder struct {
	comps []*ComponentSpec
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{} }

// ComponentSpec is a declared spout or bolt, as a [Topology] describes it.
// Users make it through Builder.
type ComponentSpec struct {
	ID          string
	Parallelism int
	// Inputs are a bolt's subscriptions.
	Inputs []Input
	// TickFrequency is the interval of tick tuples for this bolt; 0 means
	// Config.TickFrequency applies.
	TickFrequency time.Duration
	// Streams are the declared output streams by id, filled in by Build.
	Streams map[string]StreamDef

	// Exactly one of spout and bolt is set.
	spout func() Spout
	bolt  func() Bolt
	// releasesInput is true for a bolt that keeps no input tuple once
	// Execute returns ([InputReleaser]), filled in by Build.
	releasesInput bool
}

// IsSpout reports whether the component is a spout.
func (c *ComponentSpec) IsSpout() bool { return c.spout != nil }

// clone copies c deeply, so that what a caller does with the copy does not
// change the Topology.
func (c *ComponentSpec) clone() *ComponentSpec {
	cp := *c
	cp.Inputs = slices.Clone(c.Inputs)
	for i := range cp.Inputs {
		cp.Inputs[i].Grouping = cp.Inputs[i].Grouping.clone()
	}
	if c.Streams != nil {
		cp.Streams = make(map[string]StreamDef, len(c.Streams))
		for id, def := range c.Streams {
			def.Fields = slices.Clone(def.Fields)
			cp.Streams[id] = def
		}
	}
	return &cp
}

// SpoutDeclarer configures a spout after SetSpout.
type SpoutDeclarer struct{ spec *ComponentSpec }

// SetSpout adds a spout with parallelism tasks, each made by factory.
func (b *Builder) SetSpout(id string, factory func() Spout, parallelism int) *SpoutDeclarer {
	spec := &ComponentSpec{ID: id, Parallelism: parallelism, spout: factory}
	if factory == nil {
		spec.spout = nilSpoutFactory
	}
	b.comps = append(b.comps, spec)
	return &SpoutDeclarer{spec: spec}
}

// BoltDeclarer subscribes a bolt to streams and configures it after SetBolt.
type BoltDeclarer struct{ spec *ComponentSpec }

// SetBolt adds a bolt with parallelism tasks, each made by factory. Wrap a
// BasicBolt factory with [Basic].
func (b *Builder) SetBolt(id string, factory func() Bolt, parallelism int) *BoltDeclarer {
	spec := &ComponentSpec{ID: id, Parallelism: parallelism, bolt: factory}
	if factory == nil {
		spec.bolt = nilBoltFactory
	}
	b.comps = append(b.comps, spec)
	return &BoltDeclarer{spec: spec}
}

// nilSpoutFactory and nilBoltFactory stand in for a nil factory so Build can
// report it by component instead of the runtime crashing on it.
func nilSpoutFactory() Spout { return nil }
func nilBoltFactory() Bolt   { return nil }

// Grouping subscribes to a stream of src with any grouping. The other
// methods are shorthands for the default stream.
func (d *BoltDeclarer) Grouping(src, stream string, g Grouping) *BoltDeclarer {
	d.spec.Inputs = append(d.spec.Inputs, Input{Component: src, Stream: stream, Grouping: g})
	return d
}

// ShuffleGrouping subscribes to src's default stream, spreading tuples evenly.
func (d *BoltDeclarer) ShuffleGrouping(src string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingShuffle})
}

// FieldsGrouping subscribes to src's default stream; equal values of fields
// always go to the same task.
func (d *BoltDeclarer) FieldsGrouping(src string, fields ...string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingFields, Fields: fields})
}

// AllGrouping subscribes to src's default stream; every task gets every tuple.
func (d *BoltDeclarer) AllGrouping(src string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingAll})
}

// GlobalGrouping subscribes to src's default stream; the lowest task gets all.
func (d *BoltDeclarer) GlobalGrouping(src string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingGlobal})
}

// DirectGrouping subscribes to a direct stream of src; the emitter picks the task.
func (d *BoltDeclarer) DirectGrouping(src, stream string) *BoltDeclarer {
	return d.Grouping(src, stream, Grouping{Kind: GroupingDirect})
}

// LocalOrShuffleGrouping subscribes to src's default stream, preferring tasks
// in the same process.
func (d *BoltDeclarer) LocalOrShuffleGrouping(src string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingLocalOrShuffle})
}

// PartialKeyGrouping subscribes to src's default stream, splitting each key
// between two tasks by load.
func (d *BoltDeclarer) PartialKeyGrouping(src string, fields ...string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingPartialKey, Fields: fields})
}

// NoneGrouping subscribes to src's default stream without caring which task
// gets a tuple.
func (d *BoltDeclarer) NoneGrouping(src string) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingNone})
}

// CustomGrouping subscribes to src's default stream, routed by a
// CustomGrouping made by factory for each sending task.
func (d *BoltDeclarer) CustomGrouping(src string, factory func() CustomGrouping) *BoltDeclarer {
	return d.Grouping(src, DefaultStream, Grouping{Kind: GroupingCustom, Custom: factory})
}

// TickFrequency makes the runtime send this bolt a tick tuple every d.
func (d *BoltDeclarer) TickFrequency(every time.Duration) *BoltDeclarer {
	d.spec.TickFrequency = every
	return d
}

// Topology is a validated graph of components, made by Builder.Build. It is
// immutable: its methods return copies, so runtimes and their users can
// share one.
type Topology struct {
	comps    map[string]*ComponentSpec
	ids      []string
	tasks    map[string][]int
	taskComp map[int]string
	subs     map[streamKey][]Subscriber
}

type streamKey struct{ component, stream string }

// Subscriber is a bolt subscribed to a stream.
type Subscriber struct {
	Component string
	Grouping  Grouping
}

// Build validates the topology and returns it. The error joins every problem
// found; each is a *ValidationError naming the component, stream and field.
// Build calls each factory once to read the declared output streams.
func (b *Builder) Build() (*Topology, error) {
	var errs []error
	bad := func(comp, stream, field string, err error) {
		errs = append(errs, &ValidationError{Component: comp, Stream: stream, Field: field, Err: err})
	}
	t := &Topology{
		comps:    make(map[string]*ComponentSpec),
		tasks:    make(map[string][]int),
		taskComp: make(map[int]string),
		subs:     make(map[streamKey][]Subscriber),
	}
	spouts := 0
	for _, c := range b.comps {
		if err := ValidateName(ComponentID, c.ID); err != nil {
			bad(c.ID, "", "", err)
			continue
		}
		switch {
		case strings.HasPrefix(c.ID, "__"):
			bad(c.ID, "", "", fmt.Errorf("%w: ids starting with \"__\" are the runtime's", ErrBadID))
			continue
		case t.comps[c.ID] != nil:
			bad(c.ID, "", "", ErrDuplicateID)
			continue
		}
		if c.Parallelism < 1 {
			bad(c.ID, "", "", fmt.Errorf("%w, got %d", ErrBadParallelism, c.Parallelism))
		}
		spec := c.clone()
		var d OutputDeclarer
		if err := declareOutputs(spec, &d); err != nil {
			bad(c.ID, "", "", err)
		}
		for _, s := range d.dups {
			bad(c.ID, s, "", ErrDuplicateStream)
		}
		spec.Streams = d.streams
		for _, s := range d.order {
			if err := ValidateName(StreamID, s); err != nil {
				bad(c.ID, s, "", err)
				continue
			}
			if f := duplicateField(spec.Streams[s].Fields); f != "" {
				bad(c.ID, s, f, ErrDuplicateField)
			}
		}
		if spec.IsSpout() {
			spouts++
		}
		t.comps[c.ID] = spec
		t.ids = append(t.ids, c.ID)
	}
	if len(b.comps) > 0 && spouts == 0 {
		errs = append(errs, ErrNoSpouts)
	}
	if len(b.comps) == 0 {
		errs = append(errs, ErrNoSpouts)
	}
	sort.Strings(t.ids)
	for _, id := range t.ids {
		c := t.comps[id]
		for _, in := range c.Inputs {
			if err := t.checkInput(c.ID, in); err != nil {
				errs = append(errs, err)
				continue
			}
			k := streamKey{in.Component, in.Stream}
			t.subs[k] = append(t.subs[k], Subscriber{Component: c.ID, Grouping: in.Grouping})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Task ids as Storm numbers them: from 1, components in id order.
	next := 1
	for _, id := range t.ids {
		for i := 0; i < t.comps[id].Parallelism; i++ {
			t.tasks[id] = append(t.tasks[id], next)
			t.taskComp[next] = id
			next++
		}
	}
	return t, nil
}

// declareOutputs makes one instance to read its declarations; a nil instance
// or a panicking factory is reported against the component.
func declareOutputs(spec *ComponentSpec, d *OutputDeclarer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("factory or DeclareOutputFields panicked: %v", r)
		}
	}()
	if spec.IsSpout() {
		s := spec.spout()
		if s == nil {
			return ErrNoFactory
		}
		if v, ok := s.(Validator); ok {
			if err := v.Validate(); err != nil {
				return err
			}
		}
		s.DeclareOutputFields(d)
		return nil
	}
	bolt := spec.bolt()
	if bolt == nil {
		return ErrNoFactory
	}
	if len(spec.Inputs) == 0 {
		return fmt.Errorf("bolt subscribes to no stream")
	}
	if v, ok := bolt.(Validator); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if tr, ok := bolt.(TickRequester); ok && spec.TickFrequency == 0 {
		spec.TickFrequency = tr.TickFrequency()
	}
	if r, ok := bolt.(InputReleaser); ok {
		spec.releasesInput = r.ReleasesInput()
	}
	bolt.DeclareOutputFields(d)
	return nil
}

func duplicateField(f Fields) string {
	seen := make(map[string]bool, len(f))
	for _, n := range f {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

func (t *Topology) checkInput(comp string, in Input) error {
	bad := func(stream, field string, err error) error {
		return &ValidationError{Component: comp, Stream: stream, Field: field, Err: err}
	}
	src := t.comps[in.Component]
	if src == nil {
		return bad(in.Stream, "", fmt.Errorf("%w %q", ErrUnknownSource, in.Component))
	}
	def, ok := src.Streams[in.Stream]
	if !ok {
		return bad(in.Stream, "", fmt.Errorf("%w %q", ErrUnknownStream, in.Component))
	}
	g := in.Grouping
	if (g.Kind == GroupingDirect) != def.Direct {
		return bad(in.Stream, "", fmt.Errorf("%w: %s grouping on stream of %q (direct: %t)", ErrDirectMismatch, g.Kind, in.Component, def.Direct))
	}
	switch g.Kind {
	case GroupingFields, GroupingPartialKey:
		if len(g.Fields) == 0 {
			return bad(in.Stream, "", fmt.Errorf("%w: %s grouping on %q needs at least one field", ErrBadGrouping, g.Kind, in.Component))
		}
		for _, f := range g.Fields {
			if !def.Fields.Contains(f) {
				return bad(in.Stream, f, fmt.Errorf("%w of %q (declared: %v)", ErrUnknownField, in.Component, def.Fields))
			}
		}
	case GroupingCustom:
		if g.Custom == nil {
			return bad(in.Stream, "", fmt.Errorf("%w: custom grouping on %q has no factory", ErrBadGrouping, in.Component))
		}
	case GroupingShuffle, GroupingAll, GroupingGlobal, GroupingDirect, GroupingLocalOrShuffle, GroupingNone:
	default:
		return bad(in.Stream, "", fmt.Errorf("%w: unknown grouping kind %d", ErrBadGrouping, g.Kind))
	}
	return nil
}

// Components returns copies of the components, in id order.
func (t *Topology) Components() []*ComponentSpec {
	out := make([]*ComponentSpec, len(t.ids))
	for i, id := range t.ids {
		out[i] = t.comps[id].clone()
	}
	return out
}

// Component returns a copy of a component by id, or nil.
func (t *Topology) Component(id string) *ComponentSpec {
	c := t.comps[id]
	if c == nil {
		return nil
	}
	return c.clone()
}

// Tasks returns a component's task ids, ascending, in a slice of the
// caller's.
func (t *Topology) Tasks(component string) []int { return slices.Clone(t.tasks[component]) }

// TaskComponent returns the component a task belongs to, or "".
func (t *Topology) TaskComponent(task int) string { return t.taskComp[task] }

// NumTasks is the number of tasks of all components.
func (t *Topology) NumTasks() int { return len(t.taskComp) }

// Subscribers returns copies of the bolts subscribed to a stream of a
// component.
func (t *Topology) Subscribers(component, stream string) []Subscriber {
	out := slices.Clone(t.subs[streamKey{component, stream}])
	for i := range out {
		out[i].Grouping = out[i].Grouping.clone()
	}
	return out
}

// WithParallelism returns a copy of the topology with some components'
// parallelism changed and task ids renumbered; it is how rebalance works.
func (t *Topology) WithParallelism(p map[string]int) (*Topology, error) {
	b := &Builder{}
	for _, id := range t.ids {
		c := t.comps[id].clone()
		if n, ok := p[id]; ok {
			c.Parallelism = n
		}
		b.comps = append(b.comps, c)
	}
	for id := range p {
		if t.comps[id] == nil {
			return nil, &ValidationError{Component: id, Err: ErrUnknownSource}
		}
	}
	return b.Build()
}
