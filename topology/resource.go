package topology

// A Resource is the key of something a runtime lends the tasks it runs
// besides their settings, such as the cluster's ZooKeeper, which a node
// lends so that a Kafka spout keeps its offsets there without being told
// where. T is the type of what is lent, so that a task takes it as one.
// The package that defines a resource declares it once, as a package
// variable: resources are told apart by identity, not by name, and
// topology needs to know none of them.
type Resource[T any] struct {
	// name says what is lent, for a reader of a key printed in a log. It
	// also keeps the struct from being zero-sized, whose pointers Go may
	// make equal.
	name string
}

// NewResource declares a resource; name says what is lent.
func NewResource[T any](name string) *Resource[T] { return &Resource[T]{name: name} }

// Lend returns lent with v lent under r as well, replacing what r lent
// before; lent itself is left as it was, so a copied Config does not
// change with it.
func (r *Resource[T]) Lend(lent Resources, v T) Resources {
	next := make(map[any]any, len(lent.values)+1)
	for key, was := range lent.values {
		next[key] = was
	}
	next[r] = v
	return Resources{values: next}
}

// From returns what the runtime lent tc's task under r; ok is false when
// it lent nothing under r (a task run outside a cluster is lent no cluster
// ZooKeeper).
func (r *Resource[T]) From(tc *TopologyContext) (v T, ok bool) {
	v, ok = tc.Resources.values[r].(T)
	return v, ok
}

// Resources are what a runtime lends every task of a topology, each under
// its Resource: set in Config.Resources, handed to each task in
// TopologyContext.Resources. The zero value lends nothing.
type Resources struct {
	values map[any]any
}
