// Package kafka is the topology's input: a Kafka spout on sarama that never
// loses a message and can replay from stored offsets (DESIGN §6).
//
// The spout's tasks split the topics' partitions (partition p goes to task
// p mod N) and read them with sarama's partition consumers. Each task keeps,
// per partition, the messages emitted and not yet acked, and stores the
// offset one past the highest below which every message was acked: in
// ZooKeeper at <root>/offsets/<topology>/<spout>/<topic>/<partition>, in a
// Kafka consumer group's offsets, or in a file. A failed message is emitted
// again after an exponential backoff from a cache (bounded by
// MaxUncommittedOffsets, which pauses reading), and after MaxRetries it goes
// to a dead-letter topic. Connecting, opening partitions and storing offsets
// run on a goroutine of each task's own, so an unreachable Kafka or
// ZooKeeper delays the spout but never blocks its acks or loses its place.
//
// Offsets in ZooKeeper are kept through package zkstore, by default in the
// ZooKeeper a cluster node lends its tasks (zkstore.ClusterOptions), so the
// spout does not depend on the cluster. `squall offsets show|set`
// (cluster.ShowOffsets, cluster.SetOffsets) reads and rewrites them.
package kafka
