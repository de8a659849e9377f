// Package zkstore is what squall keeps in ZooKeeper, and where: how to
// reach it (Options), the layout of the znodes under squall's root, each
// path made only of names that pass topology.ValidateName, their ACLs
// under digest auth, and the Kafka spouts' stored offsets (Offsets).
//
// It is a leaf beside topology: the cluster keeps its nodes, election,
// topologies and assignments through a Session, and a Kafka spout keeps
// its offsets, without linking the cluster's transport. A cluster node
// lends its tasks the Options it runs on (ClusterOptions), so that a spout
// finds the cluster's ZooKeeper without being told.
package zkstore
