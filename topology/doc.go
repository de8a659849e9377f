// Package topology is squall's user API: the types a user writes a stream
// topology with, in Storm's vocabulary.
//
// A topology is a graph of spouts (sources of tuples) and bolts (processing
// steps) connected by streams. Users implement [Spout] and [Bolt] (or the
// simpler [BasicBolt]), wire them with a [Builder], and hand the built
// [Topology] to a runtime: actors.RunLocal for one process (Storm's
// LocalCluster), or a squall cluster.
//
//	b := topology.NewBuilder()
//	b.SetSpout("sentences", newSentenceSpout, 1)
//	b.SetBolt("split", topology.Basic(newSplitter), 4).ShuffleGrouping("sentences")
//	b.SetBolt("count", topology.Basic(newCounter), 4).FieldsGrouping("split", "word")
//	topo, err := b.Build()
//
// Every component is registered with a factory and a parallelism: the runtime
// calls the factory once per task, and again when a crashed task restarts, so a
// component never sees state left over from a failed instance.
//
// At-least-once processing works as in Storm: a spout that emits a tuple with
// a message id gets Ack(msgID) once the whole tree of tuples anchored to it is
// acked, or Fail(msgID) when any tuple of the tree fails or the tree times out.
//
// This package imports nothing of the runtime: it holds declarations and the
// interfaces the runtime implements, so topologies can be unit-tested alone.
package topology
