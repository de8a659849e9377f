// Package topologyinternal is the runtime's side of package topology: what
// topology keeps from users because calling it would corrupt a running
// topology (a bolt that added an edge to its input's ack tree, say), and
// which only the runtime (package actors) and the project's tests may use.
//
// Two mechanisms, by how hot the path is:
//
//   - A tuple's representation is [Tuple], on which topology.Tuple is a
//     defined type. The runtime converts a *topology.Tuple to a *Tuple to fill
//     it and to keep its ack trees: a conversion costs nothing, and the
//     runtime does it several times for every tuple it emits or acks.
//     topology.Tuple gets none of Tuple's methods; users cannot import this
//     package, so they cannot convert.
//   - A component's factories and what Build read of its instance are read
//     once per task start or per batch, never per tuple, through the hooks
//     of component.go, which topology sets in its init (the internal
//     accessor of golang.org/x/tools).
//
// This package imports nothing of the project, so that topology can import it.
package topologyinternal
