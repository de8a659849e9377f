// Package cluster runs squall on several nodes: every node is a process of
// the same binary, with protoactor remote for tuples, acks and credits
// between nodes. What the cluster keeps in ZooKeeper, and where, is package
// zkstore's; the admin calls (Admin, and the Kafka spouts' offsets with
// ShowOffsets and SetOffsets) change it from outside the nodes.
package cluster
