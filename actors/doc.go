// Package actors is squall's runtime: it runs a topology.Topology on
// protoactor-go actors with Storm's ack trees.
//
// Each task is one actor (an executor); tuples travel between tasks in
// batches, one actor message carrying up to Config.BatchSize tuples. The
// spout task that emits a tracked tuple keeps its tree's XOR of edge ids;
// bolts send their acks and fails, in batches too, to the task a tuple's
// root id names, which tells its spout when the tree completes, fails or
// times out.
//
// Flow control is by credit: a task may have at most Config.MaxPendingBatches
// batches outstanding to each receiver; a task that has filled its credit to
// some receiver stops taking input until the receiver catches up, so a slow
// bolt slows its upstream bolts and finally its spouts, and no mailbox grows
// without bound. Edges that close a cycle never block, so a topology with a
// cycle cannot deadlock; MaxSpoutPending bounds what circulates there.
//
// Crash handling: a panic in a spout or bolt fails the tuple being executed at
// once and restarts the task with a fresh instance from its factory, under a
// protoactor supervisor with backoff. Task state that must outlive an
// instance (its input queue, its output buffers, its pending trees) lives in
// the task, not in the actor.
//
// RunLocal runs a whole topology in one process (Storm's LocalCluster).
package actors
