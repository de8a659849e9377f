// Package testinfra starts the real servers squall's tests run against:
// redis-server and ZooKeeper from Debian's packages, as child processes on
// free ports of 127.0.0.1 in the test's temp dir, and an in-process Kafka
// broker (franz-go's kfake, speaking the real wire protocol). Each Start*
// function registers cleanup that stops what it started, by PID.
//
// Under `go test -short` every Start* skips the test. A missing server
// binary fails the test with a hint to run `make deps`, which installs them.
//
// sarama against kfake: sarama.NewConfig()'s defaults work for producing,
// partition consumers and consumer groups (set Consumer.Offsets.Initial to
// OffsetOldest to read what was produced before the group joined). An
// idempotent producer needs what sarama itself demands: RequiredAcks =
// WaitForAll, Net.MaxOpenRequests = 1 and Retry.Max ≥ 1. Kafka.Stop and
// Kafka.Start keep the log and the producer ids, so such a producer carries
// on across a restart as it would against a real broker.
//
// Logs keeps what a test's loggers write, for tests of what was logged.
package testinfra
