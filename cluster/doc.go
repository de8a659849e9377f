// Package cluster runs squall on several nodes: every node is a process of
// the same binary, with protoactor remote for tuples, acks and credits
// between nodes.
package cluster
