package topologyinternal

// Origin is one stream of one task: where a tuple comes from and the names of
// its fields. The runtime makes one per stream and task and shares it between
// the tuples of that stream, so a tuple carries one pointer for both.
type Origin struct {
	Component string
	Stream    string
	Task      int
	Fields    []string
}

// Anchor is a tuple's place in one ack tree: the tree's root id and the id of
// the edge that created the tuple (an XOR of edge ids when the tuple was
// anchored to several parents of the same tree).
//
// Root ids are never 0: the runtime draws them at random from the other
// values.
type Anchor struct {
	Root uint64
	Edge uint64
}

// Tuple is the representation of a topology.Tuple.
type Tuple struct {
	origin *Origin
	values []any
	// one is the place of a tuple in a single tree, the common case, kept
	// inline: a tuple is 64 bytes and setting one writes no pointer, which
	// matters because the runtime fills millions a second in slabs the
	// garbage collector scans. Its Root is 0 for an untracked tuple.
	one [1]Anchor
	// many holds the places of a tuple anchored in several trees; nil
	// otherwise.
	many   *[]Anchor
	ackVal uint64
}

// Init sets a tuple in place, so that the runtime can allocate tuples in
// slabs. anchors is copied; nil makes an untracked tuple.
func (t *Tuple) Init(o *Origin, values []any, anchors []Anchor) {
	t.origin, t.values, t.ackVal = o, values, 0
	switch len(anchors) {
	case 0:
		t.one[0], t.many = Anchor{}, nil
	case 1:
		t.one[0], t.many = anchors[0], nil
	default:
		many := append([]Anchor(nil), anchors...)
		t.one[0], t.many = Anchor{}, &many
	}
}

// InitAnchored is Init for a tuple in a single tree, without a slice.
func (t *Tuple) InitAnchored(o *Origin, values []any, root, edge uint64) {
	t.origin, t.values, t.ackVal = o, values, 0
	t.one[0], t.many = Anchor{Root: root, Edge: edge}, nil
}

// Origin returns the tuple's stream and task.
func (t *Tuple) Origin() *Origin { return t.origin }

// Values returns the tuple's values.
func (t *Tuple) Values() []any { return t.values }

// Anchors returns the tuple's places in the ack trees it belongs to; empty
// for an untracked tuple.
func (t *Tuple) Anchors() []Anchor {
	switch {
	case t.many != nil:
		return *t.many
	case t.one[0].Root != 0:
		return t.one[:]
	}
	return nil
}

// AckVal is the XOR of the edge ids of the children anchored to this tuple so
// far (Storm's ackVal), which the runtime sends with the tuple's ack.
func (t *Tuple) AckVal() uint64 { return t.ackVal }

// AddEdge records that a child was anchored to this tuple over the given
// edge.
func (t *Tuple) AddEdge(edge uint64) { t.ackVal ^= edge }
