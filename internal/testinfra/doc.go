// Package testinfra starts the real servers squall's tests run against:
// redis-server and ZooKeeper from Debian's packages, as child processes on
// free ports of 127.0.0.1 in the test's temp dir, and an in-process Kafka
// broker (franz-go's kfake, speaking the real wire protocol). Each Start*
// function registers cleanup that stops what it started, by PID.
//
// Under `go test -short` every Start* skips the test. A missing server
// binary fails the test with a hint to run `make deps`, which installs them.
package testinfra
